//! The bot's identity and settings: getMe, the command list, logOut and close.

use super::{Call, Reply};
use crate::bot::lock;
use crate::error::ApiError;
use crate::wire::BotCommand;

pub fn get_me(call: Call<'_>) -> Result<Reply, ApiError> {
    Ok(Reply::json(&call.bot.me()))
}

pub fn log_out(_call: Call<'_>) -> Result<Reply, ApiError> {
    Ok(Reply::ok())
}

pub fn set_my_commands(call: Call<'_>) -> Result<Reply, ApiError> {
    let mut commands: Vec<BotCommand> =
        call.params.json("commands")?.ok_or_else(|| ApiError::bad_request("parameter \"commands\" is required"))?;
    if commands.len() > 100 {
        return Err(ApiError::bad_request("too many commands specified"));
    }
    for command in &mut commands {
        // teloxide sends `/start`; the official server takes a command with or without its slash.
        if let Some(bare) = command.command.strip_prefix('/') {
            command.command = bare.to_owned();
        }
        let valid = (1..=32).contains(&command.command.len())
            && command.command.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Err(ApiError::bad_request("BOT_COMMAND_INVALID"));
        }
        if command.description.is_empty() || command.description.chars().count() > 256 {
            return Err(ApiError::bad_request("command description is invalid"));
        }
    }
    *lock(&call.bot.commands) = commands;
    Ok(Reply::ok())
}

pub fn get_my_commands(call: Call<'_>) -> Result<Reply, ApiError> {
    Ok(Reply::json(&*lock(&call.bot.commands)))
}

pub fn delete_my_commands(call: Call<'_>) -> Result<Reply, ApiError> {
    lock(&call.bot.commands).clear();
    Ok(Reply::ok())
}
