//! The shim's errors, and how each reaches containerd as a ttrpc status.

use containerd_shim::protos::ttrpc::{self, Code};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}: not found")]
    NotFound(String),
    #[error("{0}: already exists")]
    AlreadyExists(String),
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("{0}")]
    InvalidArgument(String),
    #[error("runc {op}: {msg}")]
    Runc { op: &'static str, msg: String },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Shim(#[from] containerd_shim::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let context = context.into();
        move |source| Error::Io { context, source }
    }

    /// The ttrpc code containerd maps back to its errdefs (NotFound lets
    /// containerd treat a kill of a finished process as done).
    pub fn code(&self) -> Code {
        match self {
            Error::NotFound(_) => Code::NOT_FOUND,
            Error::AlreadyExists(_) => Code::ALREADY_EXISTS,
            Error::FailedPrecondition(_) => Code::FAILED_PRECONDITION,
            Error::InvalidArgument(_) => Code::INVALID_ARGUMENT,
            _ => Code::UNKNOWN,
        }
    }
}

impl From<Error> for ttrpc::Error {
    fn from(e: Error) -> Self {
        ttrpc::Error::RpcStatus(ttrpc::get_status(e.code(), e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_reaches_containerd_as_not_found() {
        let e: ttrpc::Error = Error::NotFound("process c1".into()).into();
        match e {
            ttrpc::Error::RpcStatus(s) => {
                assert_eq!(s.code(), Code::NOT_FOUND);
                assert_eq!(s.message(), "process c1: not found");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn runc_failures_are_unknown() {
        let e = Error::Runc {
            op: "create",
            msg: "boom".into(),
        };
        assert_eq!(e.code(), Code::UNKNOWN);
        assert_eq!(e.to_string(), "runc create: boom");
    }
}
