//! Every integration test of gatehouse-render, in one test binary (one build and
//! link instead of one per file). Each file stays a module under its own name
//! (`cargo test -p gatehouse-render --test all config_digest::` runs one file's tests).
//! A new test file is registered here, as a module; the workspace test
//! `every_test_file_is_compiled` (xtask) fails while a file is not.
// Each file that declares `mod common;` keeps its own copy, as when each file was a binary.
#![allow(clippy::duplicate_mod)]

#[path = "config_digest.rs"]
mod config_digest;

#[path = "crd_schema.rs"]
mod crd_schema;

#[path = "kubernetes_validate.rs"]
mod kubernetes_validate;

#[path = "name_collisions.rs"]
mod name_collisions;

#[path = "properties.rs"]
mod properties;

#[path = "snapshots.rs"]
mod snapshots;

#[path = "tls.rs"]
mod tls;

#[path = "fleet.rs"]
mod fleet;

#[path = "yaml_writer.rs"]
mod yaml_writer;

#[path = "runbook.rs"]
mod runbook;
