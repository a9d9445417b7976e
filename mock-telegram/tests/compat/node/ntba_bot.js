// Echo and button bot on node-telegram-bot-api 0.67 (the classic yagop API), written as the library's README and
// examples write it.
//
// Used by mock-telegram's compatibility suite: only the API root and the token differ from a bot that talks to
// api.telegram.org. Environment: TELEGRAM_API_URL (the mock's root, e.g. http://127.0.0.1:8081),
// TELEGRAM_BOT_TOKEN, and for webhook mode WEBHOOK_URL and WEBHOOK_PORT (polling when they are unset).
//
// In webhook mode the library's own server accepts only requests whose URL contains the token, so, as in its
// examples/webhook, the bot registers `<origin of WEBHOOK_URL>/bot<token>` rather than WEBHOOK_URL's own path.
const TelegramBot = require('node-telegram-bot-api');

const token = process.env.TELEGRAM_BOT_TOKEN;
const baseApiUrl = process.env.TELEGRAM_API_URL.replace(/\/+$/, '');
const webhookUrl = process.env.WEBHOOK_URL;

let bot;
if (webhookUrl) {
  // The webhook server starts listening as soon as the bot is created.
  bot = new TelegramBot(token, {
    baseApiUrl,
    webHook: { port: Number(process.env.WEBHOOK_PORT), host: '127.0.0.1' },
  });
  const url = `${new URL(webhookUrl).origin}/bot${token}`;
  bot.setWebHook(url)
    .then(() => console.error(`registered webhook -> ${url}`))
    .catch((err) => {
      console.error('setWebHook failed:', err);
      process.exit(1);
    });
} else {
  // Create a bot that uses 'polling' to fetch new updates
  bot = new TelegramBot(token, { baseApiUrl, polling: true });
  console.error('started with long polling');
}

// Matches "/menu": send a message with two inline buttons.
bot.onText(/^\/menu(@\w+)?$/, (msg) => {
  const opts = {
    reply_markup: {
      inline_keyboard: [[
        { text: 'Option 1', callback_data: 'opt:1' },
        { text: 'Option 2', callback_data: 'opt:2' },
      ]],
    },
  };
  bot.sendMessage(msg.chat.id, 'Choose an option:', opts);
});

// Handle callback queries: answer the query, then edit the message the button belongs to.
bot.on('callback_query', async (callbackQuery) => {
  const match = /^opt:(\d+)$/.exec(callbackQuery.data || '');
  if (!match) return;
  const msg = callbackQuery.message;
  try {
    await bot.answerCallbackQuery(callbackQuery.id);
    await bot.editMessageText(`You chose ${match[1]}`, { chat_id: msg.chat.id, message_id: msg.message_id });
  } catch (err) {
    console.error('callback_query failed:', err);
  }
});

// Listen for any kind of message and echo text that is not a command.
bot.on('message', (msg) => {
  if (!msg.text || msg.text.startsWith('/')) return;
  bot.sendMessage(msg.chat.id, msg.text);
});

bot.on('polling_error', (error) => console.error('polling_error:', error));
bot.on('webhook_error', (error) => console.error('webhook_error:', error));
