//! docs/GAME_API.md's tutorial shows this crate's files: every `<!-- file: PATH -->` block that
//! names one of them must equal it, so the tutorial (built out of tree by `.ci/tutorial`) and
//! the example never drift apart.

use std::path::Path;

#[test]
fn the_tutorials_files_are_this_crates_files() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let guide = std::fs::read_to_string(crate_dir.join("../../docs/GAME_API.md"))
        .expect("docs/GAME_API.md");
    let mut compared = Vec::new();
    let mut rest = guide.as_str();
    while let Some(start) = rest.find("<!-- file: ") {
        rest = &rest[start + "<!-- file: ".len()..];
        let (path, after) = rest
            .split_once(" -->\n```")
            .expect("a code block after the marker");
        let body = after.split_once('\n').expect("a fence line").1;
        let (code, after) = body.split_once("\n```\n").expect("a closing fence");
        rest = after;
        let file = crate_dir.join(path);
        // Its own Cargo.toml and main.rs are the tutorial crate's, not this one's.
        if path != "Cargo.toml" && file.is_file() {
            let text = std::fs::read_to_string(&file).expect("readable");
            assert_eq!(
                format!("{code}\n"),
                text,
                "docs/GAME_API.md's {path} differs from examples/race/{path}"
            );
            compared.push(path.to_owned());
        }
    }
    compared.sort();
    assert_eq!(
        compared,
        [
            "configs/race.toml",
            "src/components.rs",
            "src/config.rs",
            "src/game.rs",
            "src/lib.rs",
            "src/step.rs"
        ],
        "every file of the game is in the tutorial"
    );
}
