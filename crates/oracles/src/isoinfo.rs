//! cdrkit's `isoinfo`: the ISO 9660 primary volume descriptor (`-d`) and directory records
//! (`-l`), read by code independent of libisofs.
//!
//! Quirks (isoinfo from Debian `genisoimage` 1.1.11):
//! - It exits 0 on most damage and prints what it could; a run is judged by its stderr and
//!   by what the parsed fields say.
//! - `-l` prints one record per directory record: a multi-extent file (≥ 4 GiB) shows as
//!   several records with the same name, all but the last flagged 0x80; they are joined here.
//! - It prints the flags byte as a sign-extended `char`, so a multi-extent record reads
//!   `[     33 FFFF HUGE.BIN;1` (the `]` overwritten).

use std::path::Path;

use crate::error::{OracleError, ToolRun};
use crate::tool::Tool;

/// The primary volume descriptor fields that `isoinfo -d` prints.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IsoDescriptor {
    /// `System id`.
    pub system_id: String,
    /// `Volume id`.
    pub volume_id: String,
    /// `Volume set id`.
    pub volume_set_id: String,
    /// `Publisher id`.
    pub publisher_id: String,
    /// `Data preparer id`.
    pub data_preparer_id: String,
    /// `Application id`.
    pub application_id: String,
    /// `Volume set size is`: discs in the set.
    pub volume_set_size: u32,
    /// `Volume set sequence number is`: this disc's number in the set.
    pub volume_sequence_number: u32,
    /// `Logical block size is` (2048 for every image we write).
    pub logical_block_size: u32,
    /// `Volume size is`, in logical blocks.
    pub volume_size: u64,
    /// Whether it found a Joliet supplementary descriptor.
    pub joliet: bool,
    /// Whether it found Rock Ridge.
    pub rock_ridge: bool,
}

/// One file or directory as `isoinfo -l` lists it (multi-extent records joined).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsoRecord {
    /// The directory holding it, as isoinfo prints it (`/`, `/A/B/`).
    pub dir: String,
    /// Its ISO 9660 name, with the `;1` version (`ONE.TXT;1`).
    pub name: String,
    /// Whether it is a directory.
    pub is_dir: bool,
    /// Bytes (summed over all extents of a multi-extent file).
    pub size: u64,
    /// Logical block of its first extent.
    pub extent: u64,
    /// Number of directory records (extents) joined into this one.
    pub extents: u32,
}

/// Runs `isoinfo -d -i IMAGE`: exit 0, nothing on stderr, an ISO 9660 volume found, and
/// every numeric field parsed.
pub fn isoinfo_descriptor(image: &Path) -> Result<IsoDescriptor, OracleError> {
    let reader = "isoinfo -d";
    let run = run_isoinfo(reader, "-d", image)?;
    parse_descriptor(&run.stdout).map_err(|problem| OracleError::from_run(reader, problem, &run))
}

/// Runs `isoinfo -l -i IMAGE`: exit 0, nothing on stderr, every line understood. Returns
/// the files and directories (without `.` and `..`) in listing order.
pub fn isoinfo_list(image: &Path) -> Result<Vec<IsoRecord>, OracleError> {
    let reader = "isoinfo -l";
    let run = run_isoinfo(reader, "-l", image)?;
    parse_listing(&run.stdout).map_err(|problem| OracleError::from_run(reader, problem, &run))
}

fn run_isoinfo(reader: &str, mode: &str, image: &Path) -> Result<ToolRun, OracleError> {
    let run = Tool::ISOINFO.run(
        reader,
        [mode.as_ref(), "-i".as_ref(), image.as_os_str()],
        None,
    )?;
    if !run.status.success() {
        return Err(OracleError::from_run(reader, run.exit_summary(), &run));
    }
    if !run.stderr.trim().is_empty() {
        return Err(OracleError::from_run(
            reader,
            "isoinfo wrote to stderr",
            &run,
        ));
    }
    Ok(run)
}

/// Parses `isoinfo -d` output.
pub fn parse_descriptor(stdout: &str) -> Result<IsoDescriptor, String> {
    if !stdout
        .lines()
        .any(|l| l.trim() == "CD-ROM is in ISO 9660 format")
    {
        return Err("no \"CD-ROM is in ISO 9660 format\": no primary volume descriptor".into());
    }
    let mut d = IsoDescriptor::default();
    let mut seen = 0;
    for line in stdout.lines() {
        match line.trim_end() {
            "NO Joliet present" => d.joliet = false,
            "NO Rock Ridge present" => d.rock_ridge = false,
            l if l.starts_with("Joliet with UCS level") => d.joliet = true,
            l if l.starts_with("Rock Ridge signatures") => d.rock_ridge = true,
            _ => {}
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.strip_prefix(' ').unwrap_or(value).to_string();
        let number = |v: &str| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| format!("`{line}`: not a number"))
        };
        match key {
            "System id" => d.system_id = value,
            "Volume id" => d.volume_id = value,
            "Volume set id" => d.volume_set_id = value,
            "Publisher id" => d.publisher_id = value,
            "Data preparer id" => d.data_preparer_id = value,
            "Application id" => d.application_id = value,
            "Volume set size is" => (d.volume_set_size, seen) = (number(&value)? as u32, seen + 1),
            "Volume set sequence number is" => {
                (d.volume_sequence_number, seen) = (number(&value)? as u32, seen + 1)
            }
            "Logical block size is" => {
                (d.logical_block_size, seen) = (number(&value)? as u32, seen + 1)
            }
            "Volume size is" => (d.volume_size, seen) = (number(&value)?, seen + 1),
            _ => {}
        }
    }
    if seen != 4 {
        return Err(
            "missing one of the volume set size, sequence number, block size and volume size lines"
                .into(),
        );
    }
    Ok(d)
}

/// Parses `isoinfo -l` output, joining multi-extent files.
pub fn parse_listing(stdout: &str) -> Result<Vec<IsoRecord>, String> {
    let mut records: Vec<IsoRecord> = Vec::new();
    let mut dir: Option<String> = None;
    // Whether the previous record was flagged "more extents follow" (0x80).
    let mut continues = false;
    for line in stdout.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if let Some(d) = line.strip_prefix("Directory listing of ") {
            dir = Some(d.to_string());
            continue;
        }
        let Some(dir) = &dir else {
            return Err(format!("record before any directory: `{line}`"));
        };
        let bad = || format!("cannot parse isoinfo -l line `{line}`");
        let (head, rest) = line.split_once('[').ok_or_else(bad)?;
        let fields: Vec<&str> = head.split_whitespace().collect();
        let (mode, size) = match fields.as_slice() {
            [mode, _links, _uid, _gid, size, _month, _day, _year] => (*mode, *size),
            _ => return Err(bad()),
        };
        let size: u64 = size.parse().map_err(|_| bad())?;
        let rest = rest.trim_start();
        let (extent, rest) = rest.split_once(' ').ok_or_else(bad)?;
        let extent: u64 = extent.parse().map_err(|_| bad())?;
        let rest = rest.trim_start();
        let flags_end = rest.find([' ', ']']).ok_or_else(bad)?;
        let flags_text = &rest[..flags_end];
        // isoinfo prints the flags byte as a sign-extended `char`: a set 0x80 bit comes out
        // as `FFFF...` and overruns the `]`, so more than two digits means 0x80 is set.
        let flags = match u32::from_str_radix(flags_text, 16).map_err(|_| bad())? {
            f if flags_text.len() > 2 => (f as u8) | 0x80,
            f => f as u8,
        };
        let name = match rest[flags_end..].strip_prefix("]  ") {
            Some(name) => name,
            None => rest[flags_end..].strip_prefix(' ').ok_or_else(bad)?,
        };
        let name = name.strip_suffix(' ').unwrap_or(name).to_string();
        if name == "." || name == ".." {
            continue;
        }
        let is_dir = mode.starts_with('d');
        match records.last_mut() {
            Some(prev) if continues && prev.dir == *dir && prev.name == name => {
                prev.size += size;
                prev.extents += 1;
            }
            _ if continues => {
                return Err(format!(
                    "multi-extent file ends without its last extent before `{line}`"
                ));
            }
            _ => records.push(IsoRecord {
                dir: dir.clone(),
                name,
                is_dir,
                size,
                extent,
                extents: 1,
            }),
        }
        continues = flags & 0x80 != 0;
    }
    if continues {
        return Err("the last record is flagged as continued by another extent".into());
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_descriptor() {
        let out = "CD-ROM is in ISO 9660 format\nSystem id: LINUX\nVolume id: CTRL\n\
            Volume set id: \nApplication id: GENISOIMAGE ISO 9660: X\nVolume set size is: 7\n\
            Volume set sequence number is: 3\nLogical block size is: 2048\nVolume size is: 440\n\
            NO Joliet present\nNO Rock Ridge present\n";
        let d = parse_descriptor(out).unwrap();
        assert_eq!(d.volume_id, "CTRL");
        assert_eq!(d.volume_set_id, "");
        assert_eq!(d.application_id, "GENISOIMAGE ISO 9660: X");
        assert_eq!((d.volume_set_size, d.volume_sequence_number), (7, 3));
        assert_eq!((d.logical_block_size, d.volume_size), (2048, 440));
        assert!(!d.joliet && !d.rock_ridge);
    }

    #[test]
    fn refuses_output_without_a_volume() {
        assert!(parse_descriptor("Volume size is: 3\n").is_err());
    }

    #[test]
    fn parses_and_joins_records() {
        let out = "\nDirectory listing of /\n\
            d---------   0    0    0            2048 Nov 26 2026 [    278 02]  . \n\
            d---------   0    0    0            2048 Nov 26 2026 [    278 02]  .. \n\
            d---------   0    0    0            2048 Nov 26 2026 [    280 02]  A \n\
            ----------   0    0    0      4294965248 Nov 26 2026 [    300 FFFF BIG.BIN;1 \n\
            ----------   0    0    0               3 Nov 26 2026 [ 2097451 00]  BIG.BIN;1 \n\
            \nDirectory listing of /A/\n\
            ----------   0    0    0               6 Nov 26 2026 [    285 00]  ONE.TXT;1 \n";
        let r = parse_listing(out).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!((r[0].name.as_str(), r[0].is_dir), ("A", true));
        assert_eq!(
            (r[1].name.as_str(), r[1].size, r[1].extent, r[1].extents),
            ("BIG.BIN;1", 4294965251, 300, 2)
        );
        assert_eq!(
            (r[2].dir.as_str(), r[2].name.as_str(), r[2].size),
            ("/A/", "ONE.TXT;1", 6)
        );
    }

    #[test]
    fn refuses_a_dangling_multi_extent_record() {
        let out = "Directory listing of /\n\
            ----------   0    0    0            2048 Nov 26 2026 [    300 80]  BIG.BIN;1 \n";
        assert!(parse_listing(out).is_err());
    }
}
