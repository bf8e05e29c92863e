//! Real AWS clients behind the ports, and (for tests only) the same port in memory.

#[cfg(feature = "dynamodb")]
pub mod aws_calls;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "test-fixtures")]
pub mod memory;
pub mod resolve;
#[cfg(feature = "webhook")]
pub mod webhook_post;
