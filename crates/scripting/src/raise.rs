//! Errors the `redis.*` functions raise. Redis raises a table
//! `{err = "<code> <message>"}`; from Rust the raised value is an error
//! carrying that message, which the error handler and `pcall` turn back
//! into what Redis's scripts see.

/// The message of a raised `redis.*` error, code included.
#[derive(Debug)]
pub struct Raised(pub String);

impl std::fmt::Display for Raised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Raised {}

/// An error that raises `msg` as a Redis error table would.
pub fn raise(msg: impl Into<String>) -> mlua::Error {
    mlua::Error::external(Raised(msg.into()))
}

/// The message of an error raised by [`raise`], through mlua's wrapping.
pub fn raised_message(e: &mlua::Error) -> Option<&str> {
    match e {
        mlua::Error::CallbackError { cause, .. } => raised_message(cause),
        mlua::Error::ExternalError(inner) => inner.downcast_ref::<Raised>().map(|r| r.0.as_str()),
        _ => None,
    }
}

/// The message of any interpreter error, without the traceback mlua adds
/// to errors raised in Rust callbacks.
pub fn error_text(e: &mlua::Error) -> String {
    if let Some(m) = raised_message(e) {
        return m.to_string();
    }
    match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::CallbackError { cause, .. } => error_text(cause),
        mlua::Error::MemoryError(m) => m.clone(),
        other => other.to_string(),
    }
}
