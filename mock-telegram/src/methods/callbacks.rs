//! answerCallbackQuery: the bot acknowledges a button press, which answers the action that pressed it.

use super::{Call, Reply};
use crate::error::ApiError;
use crate::ledger::{Answer, Target};

pub fn answer_callback_query(call: Call<'_>) -> Result<Reply, ApiError> {
    let id = call
        .params
        .str("callback_query_id")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ApiError::bad_request("parameter \"callback_query_id\" is required"))?;
    let text = call.params.str("text").map(str::to_owned);
    if text.as_deref().is_some_and(|text| text.chars().count() > 200) {
        return Err(ApiError::bad_request("MESSAGE_TOO_LONG"));
    }
    let show_alert = call.params.bool("show_alert")?;
    if !call.bot.ledger.take_callback(id) {
        return Err(ApiError::stale_callback_query());
    }
    let answer = Answer { method: "answerCallbackQuery".into(), text, show_alert, ..Answer::default() };
    call.bot.ledger.answer(Target::CallbackQuery(id), answer, crate::clock::now_us());
    Ok(Reply::ok())
}
