//! The `files` section of the catalogue JSON (each content with its names, discs and parts)
//! and the version lists of unhashed files, directories and symlinks.

use std::io::Write;
use std::iter::Peekable;

use super::writer::{JsonWriter, Res, VERSION_COLUMNS, Version, VersionKind};
use super::{JsonPart, json_path};
use crate::catalogue::InCatalogue;

impl<W: Write> JsonWriter<'_, W> {
    /// `files`: every content with a version in the scope, its names and where it is stored.
    /// Entries and placements are two queries in content hash order, walked side by side.
    pub(super) fn files(&mut self) -> Res<()> {
        let catalogue = self.catalogue;
        let path = catalogue.path();
        // A sample is a range of hashes: `x'04'` is above every hash starting with 0x03.
        let sample = match self.sample_below {
            None => String::new(),
            Some(below) => format!("AND c.hash < x'{below:02x}'"),
        };
        let mut names = catalogue
            .conn
            .prepare(&format!(
                "SELECT c.hash, c.size, {VERSION_COLUMNS} FROM content c \
                 JOIN entry e ON e.content_id = c.id \
                 WHERE e.kind = 1 AND e.first_snapshot <= ?1 {sample} \
                 ORDER BY c.hash, e.path, e.first_snapshot"
            ))
            .in_catalogue(path)?;
        let mut names = names.query([self.snapshot]).in_catalogue(path)?;
        let mut stored = catalogue
            .conn
            .prepare(&format!(
                "SELECT c.hash, p.part, p.parts, d.number, p.offset, p.length, p.part_hash, \
                 p.disc_path, p.iso_path, p.entry_path, p.name_path \
                 FROM placement p JOIN content c ON c.id = p.content_id \
                 JOIN disc d ON d.id = p.disc_id \
                 WHERE d.plan_id <= ?1 AND d.number < ?2 {sample} \
                 ORDER BY c.hash, d.number, p.part"
            ))
            .in_catalogue(path)?;
        let export = self.export();
        let stored = stored
            .query_map(
                (self.max_plan, self.below_disc),
                |r| -> rusqlite::Result<(Vec<u8>, JsonPart)> {
                    let disc_path: String = r.get(7)?;
                    let name_path: String = r.get(10)?;
                    let entry_path: Vec<u8> = r.get(9)?;
                    let part_hash: Option<Vec<u8>> = r.get(6)?;
                    Ok((
                        r.get(0)?,
                        JsonPart {
                            part: r.get(1)?,
                            parts: r.get(2)?,
                            disc: r.get(3)?,
                            offset: r.get::<_, i64>(4)? as u64,
                            length: r.get::<_, i64>(5)? as u64,
                            hash: part_hash.map(|h| crate::hex(&h)),
                            iso_path: r.get(8)?,
                            entry_path: export.then(|| json_path(&entry_path)),
                            name: (export && name_path != disc_path).then_some(name_path),
                            path: disc_path,
                        },
                    ))
                },
            )
            .in_catalogue(path)?;
        let mut stored = stored.peekable();
        let mut current: Option<Vec<u8>> = None;
        let mut group: Vec<Version> = Vec::new();
        let mut first_content = true;
        self.raw(",\"files\":{")?;
        while let Some(r) = names.next().in_catalogue(path)? {
            let hash: Vec<u8> = r.get(0).in_catalogue(path)?;
            let v = Version::from_row(r, 2).in_catalogue(path)?;
            if current.as_deref() != Some(&hash[..]) {
                if let Some(prev) = current.take() {
                    self.version_group(VersionKind::File, &mut group)?;
                    self.close_content(&prev, &mut stored)?;
                }
                let size: i64 = r.get(1).in_catalogue(path)?;
                self.raw(if first_content { "" } else { "," })?;
                first_content = false;
                self.val(&crate::hex(&hash))?;
                self.raw(&format!(
                    ":{{\"size\":{size},\"mtime\":{},\"filenames\":{{",
                    v.mtime
                ))?;
                current = Some(hash);
            } else if group.first().is_some_and(|g| g.path != v.path) {
                self.version_group(VersionKind::File, &mut group)?;
                self.raw(",")?;
            }
            group.push(v);
        }
        if let Some(prev) = current {
            self.version_group(VersionKind::File, &mut group)?;
            self.close_content(&prev, &mut stored)?;
        }
        self.raw("}")?;
        Ok(())
    }

    /// Ends a content's `filenames` and writes its discs and parts: the stored ones, then the
    /// new plan's.
    fn close_content<I>(&mut self, hash: &[u8], stored: &mut Peekable<I>) -> Res<()>
    where
        I: Iterator<Item = rusqlite::Result<(Vec<u8>, JsonPart)>>,
    {
        let path = self.catalogue.path();
        let mut parts = Vec::new();
        // Placements of contents outside the scope (a later snapshot's) are passed over.
        while let Some(next) = stored.peek() {
            let below = match next {
                Ok((h, _)) => h.as_slice() <= hash,
                Err(_) => true,
            };
            if !below {
                break;
            }
            let (h, part) = stored.next().expect("peeked").in_catalogue(path)?;
            if h == hash {
                parts.push(part);
            }
        }
        while let Some((h, _)) = self.new_parts.peek() {
            if h.as_slice() > hash {
                break;
            }
            let (h, part) = self.new_parts.next().expect("peeked");
            if h == hash {
                parts.push(part);
            }
        }
        let mut discs: Vec<u32> = parts.iter().map(|p| p.disc).collect();
        discs.dedup();
        self.raw("},\"discs\":")?;
        self.val(&discs)?;
        self.raw(",\"parts\":")?;
        self.val(&parts)?;
        self.raw("}")?;
        Ok(())
    }

    /// Writes the versions of one path, collected in `group`, as `"path": VERSION` or
    /// `"path": [VERSION, …]`, and empties `group`.
    fn version_group(&mut self, kind: VersionKind, group: &mut Vec<Version>) -> Res<()> {
        let Some(first) = group.first() else {
            return Ok(());
        };
        self.val(&json_path(&first.path))?;
        self.raw(":")?;
        let many = group.len() > 1;
        if many {
            self.raw("[")?;
        }
        // The fields in name order, as the shape has always listed them.
        #[derive(serde::Serialize)]
        struct Out<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            dev: Option<i64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            gid: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            group: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            inode: Option<i64>,
            mode: i64,
            mtime: i64,
            #[serde(skip_serializing_if = "Option::is_none")]
            size: Option<i64>,
            snapshots: [i64; 2],
            #[serde(skip_serializing_if = "Option::is_none")]
            target: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            uid: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            user: Option<&'a str>,
        }
        let export = self.export();
        let with_size = kind == VersionKind::Unhashed || (export && kind != VersionKind::File);
        for (i, v) in group.iter().enumerate() {
            let out = Out {
                dev: export.then_some(v.dev),
                gid: v.owner.as_ref().map(|o| o.gid),
                group: v.owner.as_ref().and_then(|o| o.group.as_deref()),
                inode: export.then_some(v.inode),
                mode: v.mode,
                mtime: v.mtime,
                size: with_size.then_some(v.size),
                snapshots: [v.first, v.last],
                target: (kind == VersionKind::Symlink)
                    .then(|| json_path(v.target.as_deref().unwrap_or_default())),
                uid: v.owner.as_ref().map(|o| o.uid),
                user: v.owner.as_ref().and_then(|o| o.user.as_deref()),
            };
            self.raw(if i == 0 { "" } else { "," })?;
            self.val(&out)?;
        }
        if many {
            self.raw("]")?;
        }
        group.clear();
        Ok(())
    }

    /// Entries without content (`filter` on `entry e`), grouped by path.
    pub(super) fn versions(&mut self, kind: VersionKind, filter: &str) -> Res<()> {
        let catalogue = self.catalogue;
        let path = catalogue.path();
        let mut stmt = catalogue
            .conn
            .prepare(&format!(
                "SELECT {VERSION_COLUMNS} FROM entry e {filter} AND e.first_snapshot <= ?1 \
                 ORDER BY e.path, e.first_snapshot"
            ))
            .in_catalogue(path)?;
        let mut rows = stmt.query([self.snapshot]).in_catalogue(path)?;
        let mut group: Vec<Version> = Vec::new();
        while let Some(r) = rows.next().in_catalogue(path)? {
            let v = Version::from_row(r, 0).in_catalogue(path)?;
            if group.first().is_some_and(|g| g.path != v.path) {
                self.version_group(kind, &mut group)?;
                self.raw(",")?;
            }
            group.push(v);
        }
        self.version_group(kind, &mut group)
    }
}
