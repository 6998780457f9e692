//! LinuxKit's image config, in one place: the `org.mobyproject.config` label and the overrides of a
//! manifest entry as typed values ([`ImageConfig`]), LinuxKit's schema checks on them
//! ([`ImageConfig::parse_label`], [`ImageConfig::parse_entry`]), and the conversion of label + entry +
//! image config into an OCI runtime spec and LinuxKit's `runtime.json` ([`to_oci`]).
//!
//! Everything but the `apply` module (feature `apply`) is pure: no I/O.

mod caps;
mod config;
mod convert;
mod manifest;
mod runtime;

#[cfg(feature = "apply")]
pub mod apply;
#[cfg(feature = "apply")]
pub mod link;

pub use caps::{capability_bit, ALL_CAPABILITIES};
pub use config::{Device, Id, IdMapping, ImageConfig, Mount, SchemaError};
pub use convert::{bundle_runtime, extract_dir, to_oci, ConvertError, ImageDefaults, OCI_VERSION};
pub use manifest::{volume_path, File, Kernel, Manifest, Volume};
pub use runtime::{Interface, Namespaces, Runtime};
