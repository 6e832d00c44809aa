//! Verdicts against maintainers' conclusions: every splat in `fixtures/verdicts/` (real
//! reports whose thread or fix commit concluded false positive or genuine, see its
//! `index.tsv`) is parsed and its verdict compared. A genuine deadlock called a likely
//! false positive fails the test; the other counts are printed and may only go up.

use std::path::PathBuf;

struct Row {
    file: String,
    conclusion: String,
    family: String,
}

fn corpus() -> (PathBuf, Vec<Row>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/verdicts");
    let index = std::fs::read_to_string(dir.join("index.tsv")).unwrap();
    let rows = index
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Row {
                file: f[0].to_string(),
                conclusion: f[1].to_string(),
                family: f[2].to_string(),
            }
        })
        .collect();
    (dir, rows)
}

#[test]
fn no_genuine_deadlock_is_called_a_false_positive() {
    let (dir, rows) = corpus();
    assert!(rows.len() >= 40, "the corpus has {} splats", rows.len());
    let (mut fp, mut fp_recognised, mut fp_called_genuine) = (0, 0, 0);
    let (mut genuine, mut genuine_recognised) = (0, 0);
    let mut mislabelled = Vec::new();
    for row in &rows {
        let bytes = std::fs::read(dir.join(&row.file)).unwrap();
        let reports = lockcheck::splat::parse_bytes(&row.file, &bytes);
        let label = reports
            .first()
            .map(|r| r.verdict.label.as_str())
            .unwrap_or("none");
        match row.conclusion.as_str() {
            "false_positive" => {
                fp += 1;
                fp_recognised += usize::from(label == "likely_false_positive");
                fp_called_genuine += usize::from(label == "likely_genuine");
            }
            "genuine" => {
                genuine += 1;
                genuine_recognised += usize::from(label == "likely_genuine");
                if label == "likely_false_positive" {
                    mislabelled.push(format!(
                        "{} (family {}): {}",
                        row.file, row.family, reports[0].verdict.rule
                    ));
                }
            }
            other => panic!("{}: unknown conclusion {other}", row.file),
        }
    }
    println!(
        "maintainer-concluded splats: {} ({fp} false positives, {genuine} genuine)\n\
         false positives recognised: {fp_recognised}/{fp} (called genuine: {fp_called_genuine})\n\
         genuine recognised: {genuine_recognised}/{genuine}; genuine called false positive: {}",
        rows.len(),
        mislabelled.len()
    );
    assert!(mislabelled.is_empty(), "{}", mislabelled.join("\n"));
    // Floors: what the classifier reached when the corpus was added (docs/classification.md).
    assert!(
        fp_recognised >= 20,
        "false positives recognised fell to {fp_recognised}"
    );
    assert!(
        genuine_recognised >= 29,
        "genuine recognised fell to {genuine_recognised}"
    );
}
