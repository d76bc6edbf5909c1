//! Every integration test of gatehouse-apply, in one test binary (one build and
//! link instead of one per file). Each file stays a module under its own name
//! (`cargo test -p gatehouse-apply --test all events::` runs one file's tests).
//! A new test file is registered here, as a module; the workspace test
//! `every_test_file_is_compiled` (xtask) fails while a file is not.
// Each file that declares `mod common;` keeps its own copy, as when each file was a binary.
#![allow(clippy::duplicate_mod)]

#[path = "events.rs"]
mod events;

#[path = "fleet.rs"]
mod fleet;

#[path = "mock.rs"]
mod mock;

#[path = "rotation.rs"]
mod rotation;

#[path = "cert_manager.rs"]
mod cert_manager;

#[path = "gateway_tls.rs"]
mod gateway_tls;
