//! The methods that answer a user's query by its id, each answering the action that sent it: answerCallbackQuery
//! (a button press), answerInlineQuery, answerPreCheckoutQuery (answered ok, the payment goes through: a
//! `successful_payment` message follows), answerShippingQuery, and approveChatJoinRequest/declineChatJoinRequest
//! (a join request, named by chat and user).

use super::{Call, Reply};
use crate::bot::lock;
use crate::error::ApiError;
use crate::ledger::{Answer, Target};
use crate::wire::UpdateBody;

/// The most results answerInlineQuery takes.
const MAX_INLINE_RESULTS: usize = 50;

fn query_id<'a>(call: &'a Call<'_>, name: &str) -> Result<&'a str, ApiError> {
    call.params
        .str(name)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ApiError::bad_request(format!("parameter \"{name}\" is required")))
}

/// Answers the action of a live query `id`, or refuses a stale or unknown one as Telegram does.
fn answer(call: &Call<'_>, id: &str, answer: Answer) -> Result<Reply, ApiError> {
    if !call.bot.ledger.take_query(id) {
        return Err(ApiError::stale_callback_query());
    }
    call.bot.ledger.answer(Target::Query(id), answer, crate::clock::now_us());
    Ok(Reply::ok())
}

pub fn answer_callback_query(call: Call<'_>) -> Result<Reply, ApiError> {
    let id = query_id(&call, "callback_query_id")?;
    let text = call.params.str("text").map(str::to_owned);
    if text.as_deref().is_some_and(|text| text.chars().count() > 200) {
        return Err(ApiError::bad_request("MESSAGE_TOO_LONG"));
    }
    let show_alert = call.params.bool("show_alert")?;
    answer(&call, id, Answer { method: "answerCallbackQuery".into(), text, show_alert, ..Answer::default() })
}

pub fn answer_inline_query(call: Call<'_>) -> Result<Reply, ApiError> {
    let id = query_id(&call, "inline_query_id")?;
    let results: Option<serde_json::Value> = call
        .params
        .json("results")
        .map_err(|_| ApiError::bad_request("can't parse inline query results JSON object"))?;
    let results = match results {
        Some(serde_json::Value::Array(results)) => results,
        Some(_) => return Err(ApiError::bad_request("can't parse inline query results JSON object")),
        None => return Err(ApiError::bad_request("parameter \"results\" is required")),
    };
    if results.len() > MAX_INLINE_RESULTS {
        return Err(ApiError::bad_request("RESULTS_TOO_MUCH"));
    }
    if results.iter().any(|r| r.get("type").is_none() || r.get("id").is_none()) {
        return Err(ApiError::bad_request("RESULT_ID_INVALID"));
    }
    let answer_of = Answer { method: "answerInlineQuery".into(), results: Some(results.len()), ..Answer::default() };
    answer(&call, id, answer_of)
}

/// `ok`, and when it is false the `error_message` Telegram requires with it.
fn verdict(call: &Call<'_>) -> Result<bool, ApiError> {
    let ok = call.params.bool("ok")?.ok_or_else(|| ApiError::bad_request("parameter \"ok\" is required"))?;
    if !ok && call.params.str("error_message").is_none_or(str::is_empty) {
        return Err(ApiError::bad_request("ERROR_MESSAGE_EMPTY"));
    }
    Ok(ok)
}

pub fn answer_pre_checkout_query(call: Call<'_>) -> Result<Reply, ApiError> {
    let id = query_id(&call, "pre_checkout_query_id")?.to_owned();
    let ok = verdict(&call)?;
    let answer_of = Answer { method: "answerPreCheckoutQuery".into(), ok: Some(ok), ..Answer::default() };
    let reply = answer(&call, &id, answer_of)?;
    let checkout = call.bot.take_checkout(&id);
    if let Some(checkout) = checkout.filter(|_| ok) {
        let message = crate::control::kinds::successful_payment(&mut lock(&call.bot.chats), &checkout);
        if let Some(message) = message {
            let body = UpdateBody::Message(message);
            call.bot.updates.push(body.kind(), checkout.chat_id, None, |id| body.to_json(id));
        }
    }
    Ok(reply)
}

pub fn answer_shipping_query(call: Call<'_>) -> Result<Reply, ApiError> {
    let id = query_id(&call, "shipping_query_id")?;
    let ok = verdict(&call)?;
    if ok && call.params.get("shipping_options").is_none() {
        return Err(ApiError::bad_request("SHIPPING_OPTIONS_EMPTY"));
    }
    answer(&call, id, Answer { method: "answerShippingQuery".into(), ok: Some(ok), ..Answer::default() })
}

/// approveChatJoinRequest (`approve`) or declineChatJoinRequest: answers the user's join request in the chat.
pub fn join_request(call: Call<'_>, approve: bool) -> Result<Reply, ApiError> {
    let chat_id = call.params.chat_id()?;
    let user_id = call.params.i64("user_id")?.ok_or_else(|| ApiError::bad_request("user not found"))?;
    let id = crate::control::kinds::join_request_id(chat_id, user_id);
    if !call.bot.ledger.take_query(&id) {
        return Err(ApiError::bad_request("HIDE_REQUESTER_MISSING"));
    }
    if approve {
        lock(&call.bot.chats).get(chat_id)?.members.insert(user_id);
    }
    let method = if approve { "approveChatJoinRequest" } else { "declineChatJoinRequest" };
    let answer_of = Answer { method: method.into(), ok: Some(approve), ..Answer::default() };
    call.bot.ledger.answer(Target::Query(&id), answer_of, crate::clock::now_us());
    Ok(Reply::ok())
}
