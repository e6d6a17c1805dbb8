//! The shape of the document as the parser reads it: the input rows, and the visitors that
//! hand each member of `files`, `directories`, … to the importer as soon as it is parsed.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::{Importer, Res};
use crate::catalogue::EntryKind;
use crate::catalogue::json::{JSON_VERSION, JsonDisc};

#[derive(Deserialize)]
pub(super) struct SnapIn {
    pub(super) id: i64,
    pub(super) drive_path: String,
    pub(super) started: i64,
    pub(super) finished: Option<i64>,
    #[serde(default)]
    pub(super) state: Option<String>,
    #[serde(default)]
    pub(super) files: Option<i64>,
    #[serde(default)]
    pub(super) directories: Option<i64>,
    #[serde(default)]
    pub(super) symlinks: Option<i64>,
    #[serde(default)]
    pub(super) total_bytes: Option<i64>,
    #[serde(default)]
    pub(super) unique_contents: Option<i64>,
    #[serde(default)]
    pub(super) unique_bytes: Option<i64>,
    #[serde(default)]
    pub(super) errors: Option<i64>,
    #[serde(default)]
    pub(super) root_mtime: Option<i64>,
}

#[derive(Deserialize)]
pub(super) struct PlanIn {
    pub(super) id: i64,
    pub(super) created: i64,
    pub(super) snapshot: i64,
    pub(super) media: String,
    pub(super) capacity: u64,
    pub(super) margin: u64,
    pub(super) first_paths: Vec<String>,
    pub(super) folders_split: u64,
    pub(super) catalogue_size: u64,
    pub(super) catalogue_gzip: bool,
    /// Absent in JSON written before parity was recorded in it: those plans count as
    /// without parity (a disc's own parity file says what it has).
    #[serde(default)]
    pub(super) parity_percent: u8,
}

#[derive(Deserialize)]
pub(super) struct ErrorIn {
    pub(super) snapshot: i64,
    pub(super) path: String,
    pub(super) cause: String,
    pub(super) at: i64,
}

/// A modification time: ns since the epoch (ours) or a zone-less local date-time (0.1).
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum Mtime {
    Ns(i64),
    Local(String),
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    pub(super) fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(t) => vec![t],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Deserialize, Default)]
pub(super) struct VersionIn {
    #[serde(default)]
    pub(super) mtime: Option<Mtime>,
    #[serde(default)]
    pub(super) mode: Option<u32>,
    #[serde(default)]
    pub(super) snapshots: Option<[i64; 2]>,
    #[serde(default)]
    pub(super) size: Option<u64>,
    #[serde(default)]
    pub(super) target: Option<String>,
    #[serde(default)]
    pub(super) dev: Option<i64>,
    #[serde(default)]
    pub(super) inode: Option<i64>,
    #[serde(default)]
    pub(super) uid: Option<u32>,
    #[serde(default)]
    pub(super) gid: Option<u32>,
    #[serde(default)]
    pub(super) user: Option<String>,
    #[serde(default)]
    pub(super) group: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct PartIn {
    pub(super) part: u32,
    #[serde(default)]
    pub(super) parts: Option<u32>,
    pub(super) disc: u32,
    pub(super) offset: u64,
    pub(super) length: u64,
    /// Version 4: the part's hash (parts only).
    #[serde(default)]
    pub(super) hash: Option<String>,
    /// Version 3: the stored bytes' SHA-256 (also for whole contents).
    #[serde(default)]
    pub(super) sha256: Option<String>,
    pub(super) path: String,
    pub(super) iso_path: String,
    #[serde(default)]
    pub(super) entry_path: Option<String>,
    #[serde(default)]
    pub(super) name: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct FileIn {
    pub(super) size: u64,
    #[serde(default)]
    pub(super) mtime: Option<Mtime>,
    pub(super) filenames: Ordered<Option<OneOrMany<VersionIn>>>,
    #[serde(default)]
    pub(super) disc_num: Option<i64>,
    #[serde(default)]
    pub(super) parts: Vec<PartIn>,
}

/// A JSON object read as its members in document order (odarchive 0.1 stored a file under
/// the first of its names).
pub(super) struct Ordered<T>(pub(super) Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry()? {
                    out.push((k, v));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// The whole document, read key by key.
pub(super) struct DocSeed<'i, 'a> {
    pub(super) imp: &'i mut Importer<'a>,
}

impl<'de> DeserializeSeed<'de> for DocSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DocSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a catalogue object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        let imp = self.imp;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "version" => {
                    let v: u32 = map.next_value()?;
                    if v > JSON_VERSION {
                        return Err(de::Error::custom(format!(
                            "catalogue JSON version {v} is newer than this odarchive reads \
                             ({JSON_VERSION}); use a newer odarchive"
                        )));
                    }
                    imp.head.version = Some(v);
                }
                "hash_algorithm" => imp.head.hash_algorithm = Some(map.next_value()?),
                "set_id" => imp.head.set_id = Some(map.next_value()?),
                "created" => imp.head.created = Some(map.next_value()?),
                "tool_version" => imp.head.tool_version = Some(map.next_value()?),
                "snapshot" => imp.head.snapshot = Some(map.next_value()?),
                // odarchive 0.1: when the catalogue was saved (UTC) and the drive it describes.
                "date" => imp.head.v01_date = map.next_value()?,
                "source_path" => imp.head.v01_source_path = map.next_value()?,
                "snapshots" => {
                    let v: Vec<SnapIn> = map.next_value()?;
                    imp.guard(|imp| imp.snapshots(v))?;
                }
                "plans" => {
                    let v: Vec<PlanIn> = map.next_value()?;
                    imp.guard(|imp| imp.plans(v))?;
                }
                "discs" => {
                    let v: Vec<JsonDisc> = map.next_value()?;
                    imp.guard(|imp| imp.discs(v))?;
                }
                "errors" => {
                    let v: Vec<ErrorIn> = map.next_value()?;
                    imp.guard(|imp| imp.errors(v))?;
                }
                "files" => map.next_value_seed(Stream {
                    imp: &mut *imp,
                    value: PhantomData,
                    each: |imp: &mut Importer<'_>, k: String, v: FileIn| imp.file(&k, v),
                })?,
                "unhashed" => map.next_value_seed(Stream {
                    imp: &mut *imp,
                    value: PhantomData,
                    each: |imp: &mut Importer<'_>, k: String, v: OneOrMany<VersionIn>| {
                        imp.versions(EntryKind::File, &k, v.into_vec())
                    },
                })?,
                "directories" => map.next_value_seed(Stream {
                    imp: &mut *imp,
                    value: PhantomData,
                    each: |imp: &mut Importer<'_>, k: String, v: OneOrMany<VersionIn>| {
                        imp.versions(EntryKind::Directory, &k, v.into_vec())
                    },
                })?,
                "symlinks" => map.next_value_seed(Stream {
                    imp: &mut *imp,
                    value: PhantomData,
                    each: |imp: &mut Importer<'_>, k: String, v: OneOrMany<VersionIn>| {
                        imp.versions(EntryKind::Symlink, &k, v.into_vec())
                    },
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// An object whose members are handled one at a time as they are parsed.
pub(super) struct Stream<'i, 'a, F, V> {
    imp: &'i mut Importer<'a>,
    each: F,
    value: PhantomData<fn() -> V>,
}

impl<'de, 'a, F, V> DeserializeSeed<'de> for Stream<'_, 'a, F, V>
where
    F: FnMut(&mut Importer<'a>, String, V) -> Res<()>,
    V: Deserialize<'de>,
{
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, 'a, F, V> Visitor<'de> for Stream<'_, 'a, F, V>
where
    F: FnMut(&mut Importer<'a>, String, V) -> Res<()>,
    V: Deserialize<'de>,
{
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> std::result::Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            let value: V = map.next_value()?;
            let each = &mut self.each;
            self.imp.guard(|imp| each(imp, key, value))?;
        }
        Ok(())
    }
}
