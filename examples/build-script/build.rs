//! Compiles every config under deploy/ into OUT_DIR/gatehouse.rs; a broken config fails the build.

fn main() {
    gatehouse_build::Builder::new()
        .deployments_in("deploy")
        .compile()
        .unwrap_or_else(|e| e.exit());
}
