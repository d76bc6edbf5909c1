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
    // Each file holds what the reviewed `example.yaml` snapshot shows: the values after its Helm
    // header, each manifest among its objects.
    let reviewed = include_str!("snapshots/all__snapshots__example.yaml.snap");
    let values = &reviewed[reviewed.find("# Helm values for release").unwrap()..];
    let values = &values[values.find('\n').unwrap() + 1..];
    assert_eq!(files["values.yaml"].trim_end(), values.trim_end());
    let manifests: Vec<_> = files
        .iter()
        .filter(|(name, _)| name.starts_with("manifests/"))
        .collect();
    assert_eq!(manifests.len(), 10, "{listing:?}");
    for (name, text) in manifests {
        assert!(
            reviewed.contains(text.trim_end()),
            "{name} is not in the snapshot"
        );
    }
}
