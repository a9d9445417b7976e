// Echo, button, media, inline and block-aware bot on grammY, written as grammY's own docs write it.
//
// It echoes text, answers /menu with two buttons and edits the menu when one is pressed, answers a photo with a
// document of the photo's downloaded bytes (grammY core has no downloader: its docs fetch the file's URL),
// answers an inline query with one article, and when a user blocks it tries to say "bye" (and logs the
// GrammyError) and says "welcome back" when they unblock it. It polls with grammY's default allowed_updates,
// which include inline queries and my_chat_member.
//
// Used by mock-telegram's compatibility suite: only the API root and the token differ from a bot that talks to
// api.telegram.org. Environment: TELEGRAM_API_URL (the mock's root, e.g. http://127.0.0.1:8081) and
// TELEGRAM_BOT_TOKEN. Long polling only.
const { Bot, GrammyError, InlineKeyboard, InlineQueryResultBuilder, InputFile } = require("grammy");

// grammY rejects an apiRoot with a trailing slash.
const apiRoot = process.env.TELEGRAM_API_URL.replace(/\/+$/, "");
const token = process.env.TELEGRAM_BOT_TOKEN;
const bot = new Bot(token, { client: { apiRoot } });

bot.command("menu", async (ctx) => {
  const keyboard = new InlineKeyboard().text("Option 1", "opt:1").text("Option 2", "opt:2");
  await ctx.reply("Choose an option:", { reply_markup: keyboard });
});

bot.callbackQuery(/^opt:(\d+)$/, async (ctx) => {
  await ctx.answerCallbackQuery();
  await ctx.editMessageText(`You chose ${ctx.match[1]}`);
});

bot.on("message:text", (ctx) => ctx.reply(ctx.message.text));

bot.on("message:photo", async (ctx) => {
  // The largest size of the photo.
  const file = await ctx.getFile();
  const response = await fetch(`${apiRoot}/file/bot${token}/${file.file_path}`);
  if (!response.ok) throw new Error(`downloading ${file.file_path}: ${response.status}`);
  const data = new Uint8Array(await response.arrayBuffer());
  await ctx.replyWithDocument(new InputFile(data, "photo.png"), { caption: `got ${data.length} bytes` });
});

bot.on("inline_query", async (ctx) => {
  const query = ctx.inlineQuery.query;
  await ctx.answerInlineQuery([InlineQueryResultBuilder.article("1", `Echo: ${query}`).text(query)]);
});

bot.on("my_chat_member", async (ctx) => {
  const { old_chat_member: before, new_chat_member: after } = ctx.myChatMember;
  if (after.status === "kicked") {
    try {
      await ctx.reply("bye");
    } catch (err) {
      if (!(err instanceof GrammyError)) throw err;
      console.error(`could not say bye to ${ctx.from.id}: ${err.description}`);
    }
  } else if (after.status === "member" && before.status === "kicked") {
    await ctx.reply("welcome back");
  }
});

bot.catch((err) => console.error(`error while handling update ${err.ctx.update.update_id}:`, err.error));

process.once("SIGINT", () => bot.stop());
process.once("SIGTERM", () => bot.stop());

bot
  .start({ onStart: (me) => console.error(`@${me.username} started with long polling`) })
  .catch((err) => {
    console.error("polling stopped:", err);
    process.exit(1);
  });
