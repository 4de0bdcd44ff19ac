//! The old home of the agents in another process, kept only so that the paths other modules
//! still name keep working (`fuzz::protocol` and `retell` name `agent::external`): the
//! protocol is in [`super::protocol`], the program agent in `command`, the HTTP agent in
//! `http`. To be removed once nothing names `agent::external` any more.

pub(crate) use super::protocol::MAX_REPLY_LINE;
#[cfg(feature = "fuzz")]
pub(crate) use super::protocol::{Next, next_step};
