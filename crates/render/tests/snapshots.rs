//! Snapshots of the built-in example's full output (review changes with `cargo insta review`, or
//! accept them with `INSTA_UPDATE=always cargo test -p gatehouse-render --test all snapshots::`).

use gatehouse_model::Deployment;
use gatehouse_render::{Format, render};

fn example() -> gatehouse_render::Rendered {
    render(
        &Deployment::guide_example()
            .validated()
            .expect("the example is valid"),
    )
}

#[test]
fn example_as_yaml() {
    insta::assert_snapshot!("example.yaml", example().to_text(Format::Yaml));
}

#[test]
fn example_as_json() {
    insta::assert_snapshot!("example.json", example().to_text(Format::Json));
}

#[test]
fn example_as_files() {
    let files = example().files();
    let listing: Vec<String> = files
        .iter()
        .map(|(name, text)| format!("{name} ({} lines)", text.lines().count()))
        .collect();
    insta::assert_snapshot!("example-files", listing.join("\n"));
    assert_eq!(files["values.yaml"], example().helm.values_yaml());
}
