//! The `gatehouse` command line; everything is in the library's `cli` module so that
//! `cargo xtask render` and friends can alias the same commands.

fn main() -> std::process::ExitCode {
    gatehouse::cli::main(std::env::args_os())
}
