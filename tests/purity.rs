//! Architecture invariant: `src/` never reads the clock.

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn src_never_reads_the_clock() {
    // `src/time.rs` names `std::time::SystemTime` to convert a host's clock reading into an
    // `Instant`; what is forbidden is taking a reading.
    let forbidden = [
        "SystemTime::now",
        "Instant::now",
        "Utc::now",
        "Local::now",
        ".elapsed(",
        "std::time::Instant",
    ];
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() > 5, "src/ not found");
    // The command line (src/bin) is a host: it may time itself for its report.
    let bin = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join("bin");
    for file in files.into_iter().filter(|f| !f.starts_with(&bin)) {
        let text = std::fs::read_to_string(&file).unwrap();
        for word in forbidden {
            assert!(!text.contains(word), "{} mentions {word}", file.display());
        }
    }
}

#[test]
fn chrono_is_built_without_its_clock() {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let chrono = manifest
        .lines()
        .find(|l| l.starts_with("chrono ="))
        .unwrap();
    assert!(chrono.contains("default-features = false"), "{chrono}");
    assert!(
        !chrono.contains("clock") && !chrono.contains("\"now\""),
        "{chrono}"
    );
}
