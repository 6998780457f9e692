//! An SPDX 2.3 JSON document listing the crates compiled into one platform's binary.

use serde_json::{json, Value};

use crate::inputs::ClosureEntry;

pub struct SbomSpec<'a> {
    /// `org/image:tag`
    pub reference: &'a str,
    pub platform: &'a str,
    pub created: &'a str,
    pub root_name: &'a str,
    pub root_version: &'a str,
    pub root_license: Option<&'a str>,
    /// sha256 hex of the binary, recorded as the root package's checksum.
    pub binary_sha256: &'a str,
    pub crates: &'a [ClosureEntry],
}

/// Builds the document; only crates linked into the binary are listed.
pub fn spdx(spec: &SbomSpec<'_>) -> Value {
    let root_id = spdx_id(spec.root_name, spec.root_version);
    let mut packages = vec![json!({
        "SPDXID": root_id,
        "name": spec.root_name,
        "versionInfo": spec.root_version,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": license(spec.root_license),
        "copyrightText": "NOASSERTION",
        "primaryPackagePurpose": "APPLICATION",
        "checksums": [{"algorithm": "SHA256", "checksumValue": spec.binary_sha256}],
        "externalRefs": [purl(spec.root_name, spec.root_version)],
    })];
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": root_id,
    })];
    for krate in spec.crates.iter().filter(|c| c.linked) {
        let id = spdx_id(&krate.name, &krate.version);
        let from_crates_io = krate
            .source
            .as_deref()
            .is_some_and(|s| s.starts_with("registry+") || s.starts_with("sparse+"));
        let mut package = json!({
            "SPDXID": id,
            "name": krate.name,
            "versionInfo": krate.version,
            "downloadLocation": if from_crates_io {
                format!("https://crates.io/api/v1/crates/{}/{}/download", krate.name, krate.version)
            } else {
                "NOASSERTION".to_string()
            },
            "filesAnalyzed": false,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": license(krate.license.as_deref()),
            "copyrightText": "NOASSERTION",
            "primaryPackagePurpose": "LIBRARY",
            "externalRefs": [purl(&krate.name, &krate.version)],
        });
        if let Some(sum) = &krate.checksum {
            package["checksums"] = json!([{"algorithm": "SHA256", "checksumValue": sum}]);
        }
        packages.push(package);
        relationships.push(json!({
            "spdxElementId": root_id,
            "relationshipType": "DEPENDS_ON",
            "relatedSpdxElement": id,
        }));
    }
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": format!("{} {}", spec.reference, spec.platform),
        // Unique per image and platform, and the same on every rebuild.
        "documentNamespace": format!(
            "https://spdx.org/spdxdocs/pkgbuild/{}/{}",
            spec.reference.replace(':', "/"),
            spec.platform
        ),
        "creationInfo": {
            "created": spec.created,
            "creators": [format!("Tool: pkgbuild-{}", env!("CARGO_PKG_VERSION"))],
        },
        "packages": packages,
        "relationships": relationships,
    })
}

fn purl(name: &str, version: &str) -> Value {
    json!({
        "referenceCategory": "PACKAGE-MANAGER",
        "referenceType": "purl",
        "referenceLocator": format!("pkg:cargo/{name}@{version}"),
    })
}

/// SPDX ids allow letters, digits, '.' and '-'.
fn spdx_id(name: &str, version: &str) -> String {
    let clean: String = format!("{name}-{version}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("SPDXRef-Package-{clean}")
}

/// Cargo's old `MIT/Apache-2.0` form is not an SPDX expression; `OR` is what it means.
fn license(license: Option<&str>) -> String {
    match license {
        Some(l) if !l.trim().is_empty() => {
            l.split('/').map(str::trim).collect::<Vec<_>>().join(" OR ")
        }
        _ => "NOASSERTION".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, linked: bool) -> ClosureEntry {
        ClosureEntry {
            name: name.into(),
            version: "1.2.3".into(),
            source: Some("registry+https://github.com/rust-lang/crates.io-index".into()),
            checksum: Some("ab".repeat(32)),
            license: Some("MIT/Apache-2.0".into()),
            features: vec![],
            path_dir: None,
            linked,
        }
    }

    #[test]
    fn lists_linked_crates_with_purl_checksum_and_license() {
        let crates = [entry("serde", true), entry("serde_derive", false)];
        let doc = spdx(&SbomSpec {
            reference: "linuxkit/x:abc",
            platform: "linux/arm64",
            created: "1970-01-01T00:00:00Z",
            root_name: "x",
            root_version: "0.1.0",
            root_license: None,
            binary_sha256: "00",
            crates: &crates,
        });
        assert_eq!(doc["spdxVersion"], "SPDX-2.3");
        let packages = doc["packages"].as_array().unwrap();
        assert_eq!(packages.len(), 2, "the proc-macro is not in the binary");
        assert_eq!(packages[1]["name"], "serde");
        assert_eq!(packages[1]["licenseDeclared"], "MIT OR Apache-2.0");
        assert_eq!(
            packages[1]["externalRefs"][0]["referenceLocator"],
            "pkg:cargo/serde@1.2.3"
        );
        assert_eq!(
            packages[1]["checksums"][0]["checksumValue"],
            "ab".repeat(32)
        );
        assert_eq!(doc["relationships"].as_array().unwrap().len(), 2);
    }
}
