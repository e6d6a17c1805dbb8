//! Finding and running the external readers.
//!
//! A missing tool is a broken test machine, not a reason to skip: [`Tool::require`] panics with
//! the Debian package to install, so a test that needs a reader fails loudly.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{OracleError, ToolRun};

/// An external program that a reader runs, and the Debian package that provides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tool {
    /// Program names to look for on `PATH`, the preferred first.
    pub names: &'static [&'static str],
    /// Debian package that provides it.
    pub package: &'static str,
}

impl Tool {
    /// 7-Zip. Debian's `p7zip-full` `7z` and `7zip`'s `7zz` are the same 7-Zip 26 here.
    pub const SEVEN_ZIP: Tool = Tool {
        names: &["7z", "7zz"],
        package: "7zip",
    };
    /// xorriso in its extraction personality.
    pub const OSIRROX: Tool = Tool {
        names: &["osirrox"],
        package: "xorriso",
    };
    /// cdrkit's ISO 9660 dumper.
    pub const ISOINFO: Tool = Tool {
        names: &["isoinfo"],
        package: "genisoimage",
    };
    /// udftools' UDF descriptor dumper.
    pub const UDFINFO: Tool = Tool {
        names: &["udfinfo"],
        package: "udftools",
    };
    /// The NetBSD UDF code as an interactive client.
    pub const UDFCLIENT: Tool = Tool {
        names: &["udfclient"],
        package: "udfclient",
    };
    /// libarchive's tar, which reads ISO 9660 images.
    pub const BSDTAR: Tool = Tool {
        names: &["bsdtar"],
        package: "libarchive-tools",
    };
    /// Debian's Python, which is the one that has `python3-pycdlib`.
    pub const PYTHON: Tool = Tool {
        names: &["/usr/bin/python3"],
        package: "python3-pycdlib",
    };
    /// cdrkit's image writer (used only to make positive controls).
    pub const GENISOIMAGE: Tool = Tool {
        names: &["genisoimage"],
        package: "genisoimage",
    };

    /// The first of [`names`](Self::names) found, or `None`.
    pub fn find(&self) -> Option<PathBuf> {
        self.names.iter().find_map(|name| find_program(name))
    }

    /// The tool's path.
    ///
    /// # Panics
    /// When the tool is not installed: a test that needs it must fail, not skip.
    pub fn require(&self) -> PathBuf {
        match self.find() {
            Some(path) => path,
            None => panic!(
                "required tool `{}` is missing: install Debian package {} (scripts/test does this)",
                self.names[0], self.package
            ),
        }
    }

    /// Runs the tool with `args` (and `stdin`, if given) to completion, capturing its output,
    /// killing it after [`default_timeout`] (a reader caught in a loop on a corrupt image
    /// must not hang the test run).
    ///
    /// The locale is forced to `C.UTF-8` so tools print and create file names as UTF-8.
    /// Only a failure to start the tool, or the timeout, is an error here; callers judge the
    /// exit status.
    ///
    /// # Panics
    /// When the tool is not installed (see [`require`](Self::require)).
    pub fn run<I, S>(
        &self,
        reader: &str,
        args: I,
        stdin: Option<&[u8]>,
    ) -> Result<ToolRun, OracleError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.run_with_timeout(reader, args, stdin, Some(default_timeout()))
    }

    /// [`run`](Self::run) with a chosen timeout (`None`: wait as long as it takes).
    pub fn run_with_timeout<I, S>(
        &self,
        reader: &str,
        args: I,
        stdin: Option<&[u8]>,
        timeout: Option<Duration>,
    ) -> Result<ToolRun, OracleError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let program = self.require();
        let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let command = shell_line(&program, &args);
        let mut cmd = Command::new(&program);
        cmd.args(&args)
            .env("LC_ALL", "C.UTF-8")
            .env("LANG", "C.UTF-8")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so a timeout ends its children too (they hold the pipes).
            .process_group(0);
        let start_error =
            |e: std::io::Error| OracleError::new(reader, format!("cannot run `{command}`: {e}"));
        let mut child = cmd.spawn().map_err(start_error)?;
        if let Some(input) = stdin {
            // Written before reading output: our inputs are far below the pipe buffer
            // (64 KiB), so the tool cannot block on a full stdout meanwhile.
            let mut pipe = child.stdin.take().expect("stdin was piped");
            pipe.write_all(input).map_err(start_error)?;
        }
        let stdout = drain(child.stdout.take().expect("stdout was piped"));
        let stderr = drain(child.stderr.take().expect("stderr was piped"));
        let deadline = timeout.map(|t| (Instant::now() + t, t));
        let mut timed_out = None;
        let status = loop {
            if let Some(status) = child.try_wait().map_err(start_error)? {
                break status;
            }
            if let Some((at, limit)) = deadline {
                if Instant::now() >= at {
                    kill_group(child.id());
                    let _ = child.kill();
                    timed_out = Some(limit);
                    break child.wait().map_err(start_error)?;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let text = |h: std::thread::JoinHandle<Vec<u8>>| {
            String::from_utf8_lossy(&h.join().unwrap_or_default()).into_owned()
        };
        let run = ToolRun {
            command,
            status,
            stdout: text(stdout),
            stderr: text(stderr),
        };
        match timed_out {
            None => Ok(run),
            Some(limit) => {
                let problem = format!(
                    "killed after {} s without finishing (raise ORACLES_TIMEOUT_SECS if the image \
                     is just large)",
                    limit.as_secs()
                );
                Err(OracleError::from_run(reader, problem, &run))
            }
        }
    }
}

/// How long a tool may run: `ORACLES_TIMEOUT_SECS` from the environment, else one hour.
pub fn default_timeout() -> Duration {
    let secs = std::env::var("ORACLES_TIMEOUT_SECS")
        .ok()
        .and_then(|v| v.parse().ok());
    Duration::from_secs(secs.unwrap_or(3600))
}

/// Kills every process of the process group `pgid` (a tool and its children) with the
/// `kill` program (this crate has no unsafe code for `kill(2)`).
fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Reads a pipe to its end on a thread of its own.
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = pipe.read_to_end(&mut out);
        out
    })
}

fn find_program(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let path = Path::new(name);
        return is_executable(path).then(|| path.to_path_buf());
    }
    let path_var = std::env::var_os("PATH")?;
    std::env::split_paths(&path_var)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A command line that can be pasted into a shell.
fn shell_line(program: &Path, args: &[std::ffi::OsString]) -> String {
    std::iter::once(program.as_os_str())
        .chain(args.iter().map(|a| a.as_os_str()))
        .map(|part| shell_quote(&part.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_quoting() {
        assert_eq!(shell_quote("-oOUT"), "-oOUT");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    #[should_panic(
        expected = "required tool `no-such-reader-xyz` is missing: install Debian package \
                               nothing (scripts/test does this)"
    )]
    fn a_missing_tool_panics_with_the_package_to_install() {
        Tool {
            names: &["no-such-reader-xyz"],
            package: "nothing",
        }
        .require();
    }

    #[test]
    fn a_tool_that_runs_too_long_is_killed_with_its_output_kept() {
        let sh = Tool {
            names: &["sh"],
            package: "dash",
        };
        let args = ["-c", "echo started; sleep 30"];
        let error = sh
            .run_with_timeout("sh", args, None, Some(Duration::from_millis(300)))
            .unwrap_err();
        assert!(error.problem.starts_with("killed after 0 s"), "{error}");
        assert_eq!(error.stdout, "started\n");
        let run = sh
            .run("sh", ["-c", "cat; echo err >&2; exit 3"], Some(b"in"))
            .unwrap();
        assert_eq!(
            (run.stdout.as_str(), run.stderr.as_str(), run.status.code()),
            ("in", "err\n", Some(3))
        );
    }

    #[test]
    fn finds_a_program_on_path() {
        let sh = Tool {
            names: &["no-such-reader-xyz", "sh"],
            package: "dash",
        };
        assert!(sh.find().is_some_and(|p| p.ends_with("sh")));
    }
}
