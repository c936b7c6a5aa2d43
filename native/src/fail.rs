//! How a record can fail in the core: as the Python engine would fail (its exception class and
//! message), or in a way the core cannot tell exactly (then the Python engine decides).

#[derive(Clone, Debug, PartialEq)]
pub enum Fail {
    /// The Python engine raises `class` with `message` here.
    Error {
        class: &'static str,
        message: String,
    },
    /// The core cannot say exactly what the Python engine does here; the router asks it.
    Defer(String),
}

impl Fail {
    pub fn error(class: &'static str, message: impl Into<String>) -> Fail {
        Fail::Error {
            class,
            message: message.into(),
        }
    }

    pub fn defer(reason: impl Into<String>) -> Fail {
        Fail::Defer(reason.into())
    }

    pub fn transform(message: impl Into<String>) -> Fail {
        Fail::error("TransformError", message)
    }
}

pub type Result<T> = std::result::Result<T, Fail>;
