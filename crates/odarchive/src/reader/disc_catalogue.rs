//! The catalogue a disc carries: read from one disc, or made into a catalogue from the
//! newest of several when the local one is lost.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::{DiscError, DiscSource, root_iso_name};
use crate::catalogue::Catalogue;
use crate::disc;
use crate::error::{Error, Result};

/// Reads the catalogue file at the root of a disc (gunzipped), if it has one.
pub fn disc_catalogue_json(
    source: &mut DiscSource,
) -> std::result::Result<Option<Vec<u8>>, DiscError> {
    for gzip in [true, false] {
        let name = disc::catalogue_name(gzip);
        if let Some(bytes) = source.read_root_file(name, &root_iso_name(name))? {
            if !gzip {
                return Ok(Some(bytes));
            }
            let mut out = Vec::new();
            disc::gzip::decoder(bytes.as_slice())
                .and_then(|mut gz| gz.read_to_end(&mut out))
                .map_err(|e| DiscError::Read {
                    disc: source.origin().to_owned(),
                    file: name.to_owned(),
                    reason: format!("not a valid gzip file: {e}"),
                })?;
            return Ok(Some(out));
        }
    }
    Ok(None)
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
pub fn catalogue_from_discs_in_zone(
    discs: &[PathBuf],
    file: &Path,
    timezone: Option<&str>,
) -> Result<Catalogue> {
    let mut best: Option<(usize, Vec<u8>, PathBuf)> = None;
    let mut last_problem = None;
    for path in super::given_discs(discs) {
        let json = path.and_then(|path| {
            let json = DiscSource::open(&path).and_then(|mut s| disc_catalogue_json(&mut s))?;
            Ok(json.map(|json| (json, path)))
        });
        match json {
            Ok(Some((json, path))) => {
                // Only the disc list is read: the rest is skipped, not built.
                #[derive(serde::Deserialize)]
                struct Listed {
                    discs: Vec<serde::de::IgnoredAny>,
                }
                let listed = serde_json::from_slice::<Listed>(&json).map_or(0, |l| l.discs.len());
                if best.as_ref().is_none_or(|(n, _, _)| listed > *n) {
                    best = Some((listed, json, path));
                }
            }
            Ok(None) => {}
            Err(e) => last_problem = Some(e),
        }
    }
    let Some((_, json, from)) = best else {
        return Err(match last_problem {
            Some(e) => e.into(),
            None => Error::NoCatalogue {
                path: file.to_owned(),
            },
        });
    };
    let mut catalogue = Catalogue::create_or_open(file)?;
    let options = crate::catalogue::import::ImportOptions {
        timezone: timezone.map(str::to_owned),
        from_disc: true,
    };
    catalogue.import_json(json.as_slice(), &from, &options)?;
    Ok(catalogue)
}
