//! Real AWS clients behind the ports.

#[cfg(feature = "dynamodb")]
pub mod aws_calls;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
