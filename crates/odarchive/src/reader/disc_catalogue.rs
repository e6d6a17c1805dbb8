//! The catalogue a disc carries: read from one disc, or made into a catalogue from the
//! newest of several when the local one is lost.
//!
//! The catalogue file grows with the archive (hundreds of megabytes at a million files), so it
//! is read as a stream: [`open_disc_catalogue`] gunzips it as it is read from the disc,
//! [`disc_catalogue_head`] reads only its beginning (the set and the discs it lists), and the
//! import parses it as it comes.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::{DiscError, DiscSource, root_iso_name};
use crate::catalogue::Catalogue;
use crate::disc;
use crate::error::{Error, Result};

/// Reads the catalogue file at the root of a disc (gunzipped) whole, if it has one. For small
/// discs and tests; commands read it with [`open_disc_catalogue`].
pub fn disc_catalogue_json(
    source: &mut DiscSource,
) -> std::result::Result<Option<Vec<u8>>, DiscError> {
    let Some((mut json, name)) = open_disc_catalogue(source)? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    json.read_to_end(&mut out).map_err(|e| DiscError::Read {
        disc: source.origin().to_owned(),
        file: name.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(Some(out))
}

/// A disc's catalogue JSON as it is read, with the name of its file on the disc.
pub type DiscCatalogueStream = (Box<dyn Read + Send>, &'static str);

/// The catalogue file at the root of a disc as a stream of its JSON (gunzipped as it is
/// read, its CRC-32 checked at its end), with its name; `None` if the disc has none.
pub fn open_disc_catalogue(
    source: &mut DiscSource,
) -> std::result::Result<Option<DiscCatalogueStream>, DiscError> {
    for gzip in [true, false] {
        let name = disc::catalogue_name(gzip);
        let Some(file) = source.open_root_file(name, &root_iso_name(name))? else {
            continue;
        };
        let file = BufReader::with_capacity(256 * 1024, file);
        if !gzip {
            return Ok(Some((Box::new(file), name)));
        }
        let gz = disc::gzip::decoder(file).map_err(|e| DiscError::Read {
            disc: source.origin().to_owned(),
            file: name.to_owned(),
            reason: format!("not a valid gzip file: {e}"),
        })?;
        return Ok(Some((Box::new(gz), name)));
    }
    Ok(None)
}

/// What the beginning of a disc's catalogue file says (read without the rest).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiscCatalogueHead {
    /// The archive set (`None` in a catalogue that does not name one, e.g. odarchive 0.1's).
    pub set_id: Option<String>,
    /// How many discs it lists (0 when it lists none or in a shape not known).
    pub discs: usize,
}

/// Reads the head of a disc's catalogue file: its set and how many discs it lists, parsing
/// only up to its disc list (which comes before the files in every shape odarchive writes).
/// `None` if the disc has no catalogue file or its beginning is not a catalogue.
pub fn disc_catalogue_head(
    source: &mut DiscSource,
) -> std::result::Result<Option<DiscCatalogueHead>, DiscError> {
    let Some((json, _)) = open_disc_catalogue(source)? else {
        return Ok(None);
    };
    Ok(read_head(json))
}

/// The head of catalogue JSON read from `json`, which is read no further than its disc list.
fn read_head(json: impl Read) -> Option<DiscCatalogueHead> {
    use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};

    /// The error that stops the parse once the disc list is read.
    const ENOUGH: &str = "odarchive: head read";

    struct HeadSeed<'a>(&'a mut DiscCatalogueHead);

    impl<'de> DeserializeSeed<'de> for HeadSeed<'_> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(
            self,
            d: D,
        ) -> std::result::Result<(), D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for HeadSeed<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a catalogue object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
            while let Some(key) = map.next_key::<String>()? {
                match key.as_str() {
                    "set_id" => self.0.set_id = Some(map.next_value()?),
                    "discs" => {
                        self.0.discs = map.next_value::<Count>()?.0;
                        return Err(A::Error::custom(ENOUGH));
                    }
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(())
        }
    }

    /// The number of elements of an array or members of an object.
    struct Count(usize);

    impl<'de> serde::Deserialize<'de> for Count {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Count, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Count;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a list of discs")
                }
                fn visit_seq<A: SeqAccess<'de>>(
                    self,
                    mut s: A,
                ) -> std::result::Result<Count, A::Error> {
                    let mut n = 0;
                    while s.next_element::<IgnoredAny>()?.is_some() {
                        n += 1;
                    }
                    Ok(Count(n))
                }
                fn visit_map<A: MapAccess<'de>>(
                    self,
                    mut m: A,
                ) -> std::result::Result<Count, A::Error> {
                    let mut n = 0;
                    while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {
                        n += 1;
                    }
                    Ok(Count(n))
                }
                fn visit_unit<E>(self) -> std::result::Result<Count, E> {
                    Ok(Count(0))
                }
            }
            d.deserialize_any(V)
        }
    }

    let mut head = DiscCatalogueHead::default();
    let mut de = serde_json::Deserializer::from_reader(json);
    match HeadSeed(&mut head).deserialize(&mut de) {
        Ok(()) => Some(head),
        Err(e) if e.to_string().starts_with(ENOUGH) => Some(head),
        Err(_) => None,
    }
}

/// A catalogue, in `file` (created; it must not exist), made from the catalogue JSON on the
/// given discs (as [`super::given_discs`] reads them): the one that lists the most discs
/// (the newest). For verify and restore when
/// the local catalogue is lost.
pub fn catalogue_from_discs(discs: &[PathBuf], file: &Path) -> Result<Catalogue> {
    catalogue_from_discs_in_zone(discs, file, None)
}

/// [`catalogue_from_discs`], reading the zone-less times of an odarchive 0.1 catalogue in
/// `timezone` (an IANA name or `±HH:MM`; `None`: this machine's zone).
///
/// Each disc's catalogue is read only up to its disc list to find the newest; that one is
/// then imported as it is read from its disc, never held whole.
pub fn catalogue_from_discs_in_zone(
    discs: &[PathBuf],
    file: &Path,
    timezone: Option<&str>,
) -> Result<Catalogue> {
    // The newest disc so far stays open: its catalogue is read from it again, as a stream,
    // without opening and indexing the disc a second time.
    let mut best: Option<(usize, PathBuf, DiscSource)> = None;
    let mut last_problem = None;
    for path in super::given_discs(discs) {
        let head = path.and_then(|path| {
            let mut source = DiscSource::open(&path)?;
            let head = disc_catalogue_head(&mut source)?;
            Ok(head.map(|head| (head, path, source)))
        });
        match head {
            Ok(Some((head, path, source))) => {
                if best.as_ref().is_none_or(|(n, _, _)| head.discs > *n) {
                    best = Some((head.discs, path, source));
                }
            }
            Ok(None) => {}
            Err(e) => last_problem = Some(e),
        }
    }
    let Some((_, from, mut source)) = best else {
        return Err(match last_problem {
            Some(e) => e.into(),
            None => Error::NoCatalogue {
                path: file.to_owned(),
            },
        });
    };
    let Some((json, _)) = open_disc_catalogue(&mut source)? else {
        return Err(Error::NoCatalogue {
            path: file.to_owned(),
        });
    };
    let mut catalogue = Catalogue::create_or_open(file)?;
    let options = crate::catalogue::import::ImportOptions {
        timezone: timezone.map(str::to_owned),
        from_disc: true,
    };
    catalogue.import_json(json, &from, &options)?;
    Ok(catalogue)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_is_read_up_to_the_disc_list_and_no_further() {
        // What follows the disc list is not JSON at all: the head is read without it.
        let json = br#"{"version":4,"set_id":"S","snapshots":[{"id":1}],"discs":[{"number":1},{"number":2}],"files": garbage"#;
        let head = read_head(&json[..]).unwrap();
        assert_eq!(head.set_id.as_deref(), Some("S"));
        assert_eq!(head.discs, 2);
    }

    #[test]
    fn a_head_without_discs_or_set_reads_as_empty_and_non_json_as_none() {
        assert_eq!(
            read_head(&br#"{"version":2,"files":{}}"#[..]),
            Some(DiscCatalogueHead::default())
        );
        let map = read_head(&br#"{"discs":{"1":{},"2":{},"3":{}}}"#[..]).unwrap();
        assert_eq!(map.discs, 3);
        assert_eq!(read_head(&b"not json"[..]), None);
        assert_eq!(read_head(&br#"{"set_id":"#[..]), None);
    }
}
