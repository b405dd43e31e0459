//! The format step's config: one operation per step, selected by `op`.

use std::collections::BTreeMap;

use serde::Deserialize;

/// `{"op": "<operation>", ...options}`; every operation also takes the [`Io`] fields.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Config {
    /// JSON document to YAML.
    JsonToYaml(Plain),
    /// YAML document to JSON.
    YamlToJson(YamlToJson),
    /// Flat or nested JSON object to a `.env` file.
    JsonToDotenv(Dotenv),
    /// Flat or nested JSON object to a Java `.properties` file.
    JsonToProperties(Properties),
    /// Base64 text to bytes.
    Base64Decode(Base64),
    /// Bytes to base64 text.
    Base64Encode(Base64),
    /// PEM bundle to leaf certificate, private key and CA chain files.
    PemSplit(PemSplit),
    /// Picks and renames keys of a JSON object.
    Select(Select),
}

/// Options shared by the single-output operations (written out in each struct because
/// `deny_unknown_fields` does not work with `flatten`).
#[derive(Debug, Clone, Copy)]
pub struct Io<'a> {
    /// Input file name; defaults to the only input file.
    pub input: Option<&'a str>,
    /// Output file name; defaults to the input file's name (the file is replaced).
    pub output: Option<&'a str>,
    /// Also pass the input file on.
    pub keep_input: bool,
    /// Mode of the output file(s).
    pub mode: Option<u32>,
}

macro_rules! io_struct {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "camelCase")]
        pub struct $name {
            /// Input file name; defaults to the only input file.
            #[serde(default)]
            pub input: Option<String>,
            /// Output file name; defaults to the input file's name.
            #[serde(default)]
            pub output: Option<String>,
            /// Also pass the input file on.
            #[serde(default)]
            pub keep_input: bool,
            /// Mode of the output file.
            #[serde(default)]
            pub mode: Option<u32>,
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl $name {
            /// The shared input/output options.
            pub fn io(&self) -> Io<'_> {
                Io {
                    input: self.input.as_deref(),
                    output: self.output.as_deref(),
                    keep_input: self.keep_input,
                    mode: self.mode,
                }
            }
        }
    };
}

io_struct!(
    /// Options of `json-to-yaml`.
    Plain {}
);

io_struct!(
    /// Options of `yaml-to-json`.
    YamlToJson {
        /// Indent the JSON output.
        #[serde(default)]
        pretty: bool,
    }
);

io_struct!(
    /// Options of `json-to-dotenv`.
    Dotenv {
        /// Put in front of every key (e.g. `APP_`).
        #[serde(default)]
        prefix: String,
        /// Upper-case the keys (after flattening and prefixing); on by default, as environment
        /// variable names usually are.
        #[serde(default = "yes")]
        uppercase: bool,
        /// Joins the keys of nested objects (`db: {host}` -> `db_host`).
        #[serde(default = "underscore")]
        separator: String,
    }
);

io_struct!(
    /// Options of `json-to-properties`.
    Properties {
        /// Joins the keys of nested objects (`db: {host}` -> `db.host`).
        #[serde(default = "dot")]
        separator: String,
        /// Write non-ASCII characters as `\uXXXX` (what `Properties.store` does; needed for
        /// readers using ISO-8859-1). Set false for UTF-8 readers.
        #[serde(default = "yes")]
        escape_unicode: bool,
    }
);

io_struct!(
    /// Options of `base64-decode` and `base64-encode`.
    Base64 {
        /// Use the URL-safe alphabet (`-_`) instead of the standard one (`+/`).
        #[serde(default)]
        url_safe: bool,
    }
);

io_struct!(
    /// Options of `select`.
    Select {
        /// New key -> key in the input object.
        keys: BTreeMap<String, String>,
        /// What to do when a key is absent.
        #[serde(default)]
        on_missing: OnMissing,
    }
);

/// Options of `pem-split` (several outputs, so no `output`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PemSplit {
    /// Input file name; defaults to the only input file.
    #[serde(default)]
    pub input: Option<String>,
    /// Also pass the input file on.
    #[serde(default)]
    pub keep_input: bool,
    /// File for the first (leaf) certificate.
    #[serde(default = "tls_crt")]
    pub cert: String,
    /// File for the private key.
    #[serde(default = "tls_key")]
    pub key: String,
    /// File for the remaining certificates (chain / CA); only written when there are any.
    #[serde(default = "ca_crt")]
    pub ca: String,
    /// Put the whole chain (leaf first) in the certificate file, as most servers expect.
    #[serde(default)]
    pub full_chain: bool,
    /// Fail when the bundle has no private key.
    #[serde(default = "yes")]
    pub require_key: bool,
    /// Mode of the certificate files.
    #[serde(default)]
    pub mode: Option<u32>,
    /// Mode of the key file (e.g. 384 = 0o600).
    #[serde(default)]
    pub key_mode: Option<u32>,
}

/// What `select` does with a key that is not in the input.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnMissing {
    /// Fail the step naming the key.
    #[default]
    Error,
    /// Leave the key out.
    Skip,
}

fn underscore() -> String {
    "_".into()
}
fn dot() -> String {
    ".".into()
}
fn yes() -> bool {
    true
}
fn tls_crt() -> String {
    "tls.crt".into()
}
fn tls_key() -> String {
    "tls.key".into()
}
fn ca_crt() -> String {
    "ca.crt".into()
}
