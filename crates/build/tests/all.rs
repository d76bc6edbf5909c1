//! Every integration test of gatehouse-build, in one test binary (one build and
//! link instead of one per file). Each file stays a module under its own name
//! (`cargo test -p gatehouse-build --test all bad_configs::` runs one file's tests).
//! A new test file is registered here, as a module; the workspace test
//! `every_test_file_is_compiled` (xtask) fails while a file is not.
// Each file that declares `mod common;` keeps its own copy, as when each file was a binary.
#![allow(clippy::duplicate_mod)]

#[path = "bad_configs.rs"]
mod bad_configs;

#[path = "builder.rs"]
mod builder;

#[path = "cargo_builds.rs"]
mod cargo_builds;

#[path = "fleets.rs"]
mod fleets;
