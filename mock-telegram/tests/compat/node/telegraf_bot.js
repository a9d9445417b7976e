// Echo and button bot on telegraf 4, written as telegraf's own docs write it.
//
// Used by mock-telegram's compatibility suite: only the API root and the token differ from a bot that talks to
// api.telegram.org. Environment: TELEGRAM_API_URL (the mock's root, e.g. http://127.0.0.1:8081),
// TELEGRAM_BOT_TOKEN, and for webhook mode WEBHOOK_URL and WEBHOOK_PORT (polling when they are unset). In
// webhook mode telegraf always registers an https:// URL, so the mock must rewrite https to http on loopback.
const { Telegraf, Markup } = require("telegraf");
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
