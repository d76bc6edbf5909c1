//! Build-time code generation for gatehouse-render. Each generator lives in its own file under
//! `build/` and writes one file into `OUT_DIR`.

#[path = "build/flux.rs"]
mod flux;

fn main() {
    flux::generate();
}
