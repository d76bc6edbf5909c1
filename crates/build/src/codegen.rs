//! The generated Rust module (`gatehouse.rs`) and the files it includes.
//!
//! The code is built as tokens (`quote`) and printed with `prettyplease`, so it is rustfmt-style
//! and valid by construction. Large texts (the model's JSON, manifests, Helm values) are files
//! beside `gatehouse.rs`, pulled in with `include_str!` relative to it.

use std::collections::BTreeMap;

use proc_macro2::{Ident, Span};
use quote::quote;

/// Subdirectory of the output directory holding the included files.
pub(crate) const DATA_DIR: &str = "gatehouse";

/// One validated and rendered config file, ready to be written out.
pub(crate) struct Unit {
    /// The Rust name (function and module).
    pub ident: String,
    /// The config file as the user named it.
    pub source: String,
    /// `serde_json` of the validated model (secret sources only, never values).
    pub model_json: String,
    /// The Kubernetes objects as multi-document YAML.
    pub manifests: String,
    /// The Helm values of the gateway release.
    pub helm_values: String,
    /// Objects and values, exactly as `render --config` prints them.
    pub rendered: String,
    /// `sha256:<hex>` of `rendered`.
    pub digest: String,
}

/// `relative path → contents` of every file to write, `gatehouse.rs` included.
pub(crate) fn generate(units: &[Unit]) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let version = gatehouse_model::VERSION;
    let version_bytes = proc_macro2::Literal::byte_string(version.as_bytes());
    let version_message =
        format!("this code was generated with gatehouse-model {version}; build with that version");

    let mut items = Vec::new();
    let mut all = Vec::new();
    for unit in units {
        let ident = Ident::new(&unit.ident, Span::call_site());
        let dir = format!("{DATA_DIR}/{}", unit.ident);
        let include = |name: &str, contents: &str, files: &mut BTreeMap<String, String>| {
            let path = format!("{dir}/{name}");
            files.insert(path.clone(), contents.to_string());
            quote!(include_str!(#path))
        };
        let model_json = include("model.json", &unit.model_json, &mut files);
        let manifests = include("manifests.yaml", &unit.manifests, &mut files);
        let helm_values = include("values.yaml", &unit.helm_values, &mut files);
        let rendered = include("rendered.yaml", &unit.rendered, &mut files);
        let source = &unit.source;
        let name = &unit.ident;
        let digest = &unit.digest;
        let fn_doc = format!(
            " The deployment of `{source}`, validated at compile time (no parsing of the config file at run time)."
        );
        let mod_doc = format!(" What gatehouse-build compiled from `{source}`.");
        items.push(quote! {
            #[doc = #fn_doc]
            pub fn #ident() -> ::gatehouse_model::ValidDeployment {
                ::gatehouse_model::ValidDeployment::from_compiled_json(#ident::MODEL_JSON)
            }

            #[doc = #mod_doc]
            pub mod #ident {
                /// The config file, as given to the builder.
                pub const SOURCE: &str = #source;
                /// The validated model as JSON (secret sources only, never values).
                pub const MODEL_JSON: &str = #model_json;
                /// The Kubernetes objects as multi-document YAML, in apply order.
                pub const MANIFESTS: &str = #manifests;
                /// The Helm values of the gateway release.
                pub const HELM_VALUES: &str = #helm_values;
                /// Objects, then the Helm values: exactly what `render --config` prints for the file.
                pub const RENDERED: &str = #rendered;
                /// SHA-256 of [`RENDERED`], as `sha256:<hex>`.
                pub const DIGEST: &str = #digest;
                /// Everything above in one value (an entry of [`super::ALL`]).
                pub const COMPILED: super::CompiledDeployment = super::CompiledDeployment {
                    name: #name,
                    source: SOURCE,
                    manifests: MANIFESTS,
                    helm_values: HELM_VALUES,
                    rendered: RENDERED,
                    digest: DIGEST,
                    deployment: super::#ident,
                };
            }
        });
        all.push(quote!(#ident::COMPILED));
    }

    let tokens = quote! {
        const _: () = assert!(
            matches!(::gatehouse_model::VERSION.as_bytes(), #version_bytes),
            #version_message
        );

        /// One deployment compiled by gatehouse-build: validated and rendered when the crate was built.
        #[derive(Debug, Clone, Copy)]
        pub struct CompiledDeployment {
            /// Rust name of the deployment (from the config file name).
            pub name: &'static str,
            /// The config file, as given to the builder.
            pub source: &'static str,
            /// The Kubernetes objects as multi-document YAML, in apply order.
            pub manifests: &'static str,
            /// The Helm values of the gateway release.
            pub helm_values: &'static str,
            /// Objects, then the Helm values: exactly what `render --config` prints for the file.
            pub rendered: &'static str,
            /// SHA-256 of `rendered`, as `sha256:<hex>`.
            pub digest: &'static str,
            /// The validated deployment.
            pub deployment: fn() -> ::gatehouse_model::ValidDeployment,
        }

        /// Every compiled deployment, in the order of their config files.
        pub const ALL: &[CompiledDeployment] = &[#(#all),*];

        #(#items)*
    };
    let file: syn::File = syn::parse2(tokens).expect("generated tokens form a Rust file");
    let sources: Vec<&str> = units.iter().map(|u| u.source.as_str()).collect();
    let code = format!(
        "// @generated by gatehouse-build from {}; do not edit.\n\n{}",
        sources.join(", "),
        prettyplease::unparse(&file)
    );
    files.insert("gatehouse.rs".into(), code);
    files
}
