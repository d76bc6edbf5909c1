//! Every integration test of gatehouse-tests, in one test binary (one build and
//! link instead of one per file). Each file stays a module under its own name
//! (`cargo test -p gatehouse-tests --test all bad_configs::` runs one file's tests).
//! A new test file is registered here, as a module; the workspace test
//! `every_test_file_is_compiled` (xtask) fails while a file is not.
// Each file that declares `mod common;` keeps its own copy, as when each file was a binary.
#![allow(clippy::duplicate_mod)]

#[path = "bad_configs.rs"]
mod bad_configs;

#[path = "cli.rs"]
mod cli;

#[path = "deploy_cli.rs"]
mod deploy_cli;

#[path = "fleet_cli.rs"]
mod fleet_cli;

#[path = "e2e.rs"]
mod e2e;

#[path = "install.rs"]
mod install;

#[path = "secret_hygiene.rs"]
mod secret_hygiene;
