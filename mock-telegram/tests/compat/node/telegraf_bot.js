// Echo, button, media, inline and block-aware bot on telegraf 4, written as telegraf's own docs write it.
//
// It echoes text, answers /menu with two buttons and edits the menu when one is pressed, answers a photo with a
// document of the photo's downloaded bytes (getFileLink, then fetch), answers an inline query with one article,
// and when a user blocks it tries to say "bye" (and logs the TelegramError) and says "welcome back" when they
// unblock it. It asks for telegraf's default allowed_updates, which include inline queries and my_chat_member.
//
// Used by mock-telegram's compatibility suite: only the API root and the token differ from a bot that talks to
// api.telegram.org. Environment: TELEGRAM_API_URL (the mock's root, e.g. http://127.0.0.1:8081),
// TELEGRAM_BOT_TOKEN, and for webhook mode WEBHOOK_URL and WEBHOOK_PORT (polling when they are unset). In
// webhook mode telegraf always registers an https:// URL, so the mock must rewrite https to http on loopback.
const { Telegraf, Input, Markup, TelegramError } = require("telegraf");
const { message } = require("telegraf/filters");

const WEBHOOK_SECRET = "tgload-compat-secret";

const bot = new Telegraf(process.env.TELEGRAM_BOT_TOKEN, {
  telegram: { apiRoot: process.env.TELEGRAM_API_URL },
});

bot.command("menu", (ctx) =>
  ctx.reply(
    "Choose an option:",
    Markup.inlineKeyboard([Markup.button.callback("Option 1", "opt:1"), Markup.button.callback("Option 2", "opt:2")]),
  ),
);

bot.action(/^opt:(\d+)$/, async (ctx) => {
  await ctx.answerCbQuery();
  await ctx.editMessageText(`You chose ${ctx.match[1]}`);
});

bot.on(message("text"), (ctx) => ctx.reply(ctx.message.text));

bot.on(message("photo"), async (ctx) => {
  // The largest size of the photo comes last.
  const photo = ctx.message.photo[ctx.message.photo.length - 1];
  const link = await ctx.telegram.getFileLink(photo.file_id);
  const response = await fetch(link);
  if (!response.ok) throw new Error(`downloading ${link}: ${response.status}`);
  const data = Buffer.from(await response.arrayBuffer());
  await ctx.replyWithDocument(Input.fromBuffer(data, "photo.png"), { caption: `got ${data.length} bytes` });
});

bot.on("inline_query", (ctx) => {
  const query = ctx.inlineQuery.query;
  return ctx.answerInlineQuery([
    { type: "article", id: "1", title: `Echo: ${query}`, input_message_content: { message_text: query } },
  ]);
});

bot.on("my_chat_member", async (ctx) => {
  const { old_chat_member: before, new_chat_member: after } = ctx.myChatMember;
  if (after.status === "kicked") {
    try {
      await ctx.reply("bye");
    } catch (err) {
      if (!(err instanceof TelegramError)) throw err;
      console.error(`could not say bye to ${ctx.from.id}: ${err.description}`);
    }
  } else if (after.status === "member" && before.status === "kicked") {
    await ctx.reply("welcome back");
  }
});

bot.catch((err, ctx) => console.error(`error while handling update ${ctx.update.update_id}:`, err));

function launchConfig() {
  if (!process.env.WEBHOOK_URL) return {};
  const url = new URL(process.env.WEBHOOK_URL);
  return {
    webhook: {
      domain: url.host,
      path: url.pathname,
      host: "127.0.0.1",
      port: Number(process.env.WEBHOOK_PORT),
      secretToken: WEBHOOK_SECRET,
    },
  };
}

const config = launchConfig();
bot
  .launch(config, () => console.error(`launched with ${config.webhook ? "a webhook" : "long polling"}`))
  .catch((err) => {
    console.error("launch failed:", err);
    process.exit(1);
  });

process.once("SIGINT", () => bot.stop("SIGINT"));
process.once("SIGTERM", () => bot.stop("SIGTERM"));
