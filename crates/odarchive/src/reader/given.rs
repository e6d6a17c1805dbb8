//! The discs a user names (`verify PATH...`, `restore --from PATH...`): each path an image, a
//! mounted disc (a folder with a disc's root files in it), or a folder of images, which stands
//! for the images in it.
//!
//! Every command that takes such paths calls [`given_discs`] once, so that they all read a
//! folder the same way.

use std::path::{Path, PathBuf};

use super::DiscError;
use crate::disc::{self, DATA_DIR, PARITY_DIR, README_NAME};

/// The names at its root that make a folder a mounted disc (or a copy of one) rather than a
/// folder of images: what odarchive puts at a disc's root, and what odarchive 0.1 put there.
fn disc_root_names() -> Vec<&'static str> {
    let mut names = vec![
        README_NAME,
        DATA_DIR,
        PARITY_DIR,
        disc::catalogue_name(false),
        disc::catalogue_name(true),
        "DATA",
    ];
    names.extend(super::legacy::ROOT_FILES.map(|(udf, _)| udf));
    names
}

/// A name as a mounted ISO 9660 view may show it (any case, a `;1` version) compared with
/// `wanted`.
fn same_root_name(name: &str, wanted: &str) -> bool {
    let name = name.strip_suffix(";1").unwrap_or(name);
    let name = name.strip_suffix('.').unwrap_or(name);
    name.eq_ignore_ascii_case(wanted)
}

/// Whether `name` is that of a disc image: `*.iso`, in any case.
fn is_image_name(name: &str) -> bool {
    Path::new(name)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("iso"))
}

/// What one folder given is.
enum Folder {
    /// A mounted disc, or a copy of one.
    Disc,
    /// A folder of images: them, sorted by name.
    Images(Vec<PathBuf>),
    /// Neither.
    Neither,
}

/// What the folder at `path` is, by the names in it.
fn classify(path: &Path) -> Result<Folder, DiscError> {
    let open = |source| DiscError::Open {
        path: path.to_owned(),
        source,
    };
    let roots = disc_root_names();
    let mut images = Vec::new();
    for entry in std::fs::read_dir(path).map_err(open)? {
        let entry = entry.map_err(open)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if roots.iter().any(|r| same_root_name(&name, r)) {
            return Ok(Folder::Disc);
        }
        // A symlink to an image counts; a folder named `x.iso` does not.
        let full = entry.path();
        if is_image_name(&name) && !full.is_dir() {
            images.push(full);
        }
    }
    if images.is_empty() {
        return Ok(Folder::Neither);
    }
    images.sort();
    Ok(Folder::Images(images))
}

/// The discs the `paths` given stand for, in the order given: an image file or a mounted
/// disc as it is, a folder of images (a folder that is not a disc's root and holds `*.iso`
/// files) as its images, sorted by name. A path that cannot be used is an error in its place
/// (a folder that is neither, or cannot be listed); a path that is not a folder is left for
/// [`super::DiscSource::open`] to open (and say why it cannot).
pub fn given_discs(paths: &[PathBuf]) -> Vec<Result<PathBuf, DiscError>> {
    let mut discs = Vec::with_capacity(paths.len());
    for path in paths {
        if !path.is_dir() {
            discs.push(Ok(path.clone()));
            continue;
        }
        match classify(path) {
            Ok(Folder::Disc) => discs.push(Ok(path.clone())),
            Ok(Folder::Images(images)) => discs.extend(images.into_iter().map(Ok)),
            Ok(Folder::Neither) => {
                discs.push(Err(DiscError::NotADiscFolder { path: path.clone() }))
            }
            Err(e) => discs.push(Err(e)),
        }
    }
    discs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        std::fs::write(path, b"").unwrap();
    }

    #[test]
    fn a_folder_of_images_is_its_images_sorted_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let images = dir.path().join("images");
        std::fs::create_dir(&images).unwrap();
        for name in ["b.iso", "a.ISO", "notes.txt", "c.iso.part"] {
            touch(&images.join(name));
        }
        std::fs::create_dir(images.join("d.iso")).unwrap();
        let one = dir.path().join("one.iso");
        let found: Vec<PathBuf> = given_discs(&[one.clone(), images.clone()])
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(found, [one, images.join("a.ISO"), images.join("b.iso")]);
    }

    #[test]
    fn a_disc_root_stays_one_disc_even_with_an_image_in_it() {
        let dir = tempfile::tempdir().unwrap();
        for root in ["README.md", "DATA", "disc_info.json", "CATALOGUE.JSON;1"] {
            let mounted = dir.path().join(format!("mounted-{root}"));
            std::fs::create_dir(&mounted).unwrap();
            touch(&mounted.join(root));
            touch(&mounted.join("inside.iso"));
            let found = given_discs(std::slice::from_ref(&mounted));
            assert_eq!(found.len(), 1, "{root}");
            assert_eq!(found[0].as_ref().unwrap(), &mounted, "{root}");
        }
    }

    #[test]
    fn a_folder_that_is_neither_says_so_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        touch(&dir.path().join("photo.jpg"));
        let found = given_discs(&[dir.path().to_owned()]);
        let [Err(e)] = found.as_slice() else {
            panic!("{found:?}")
        };
        assert!(matches!(e, DiscError::NotADiscFolder { .. }), "{e:?}");
        let text = e.to_string();
        assert!(
            text.starts_with(&dir.path().display().to_string()),
            "{text}"
        );
        assert!(text.contains("*.iso"), "{text}");
    }
}
