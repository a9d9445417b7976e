// Echo and button bot on grammY, written as grammY's own docs write it.
//
// Used by mock-telegram's compatibility suite: only the API root and the token differ from a bot that talks to
// api.telegram.org. Environment: TELEGRAM_API_URL (the mock's root, e.g. http://127.0.0.1:8081) and
// TELEGRAM_BOT_TOKEN. Long polling only.
const { Bot, InlineKeyboard } = require("grammy");

// grammY rejects an apiRoot with a trailing slash.
const apiRoot = process.env.TELEGRAM_API_URL.replace(/\/+$/, "");
const bot = new Bot(process.env.TELEGRAM_BOT_TOKEN, { client: { apiRoot } });

bot.command("menu", async (ctx) => {
  const keyboard = new InlineKeyboard().text("Option 1", "opt:1").text("Option 2", "opt:2");
  await ctx.reply("Choose an option:", { reply_markup: keyboard });
});

bot.callbackQuery(/^opt:(\d+)$/, async (ctx) => {
  await ctx.answerCallbackQuery();
  await ctx.editMessageText(`You chose ${ctx.match[1]}`);
});

bot.on("message:text", (ctx) => ctx.reply(ctx.message.text));

bot.catch((err) => console.error(`error while handling update ${err.ctx.update.update_id}:`, err.error));

process.once("SIGINT", () => bot.stop());
process.once("SIGTERM", () => bot.stop());

bot
  .start({ onStart: (me) => console.error(`@${me.username} started with long polling`) })
  .catch((err) => {
    console.error("polling stopped:", err);
    process.exit(1);
  });
