//! Writes the seed corpus: `corpus/<target>/<seed>` for every target's seeds, replacing what
//! was there. Run through `fuzz/run seeds` after changing a message or a seed.

use std::path::{Path, PathBuf};

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for (target, seeds) in rpc_fuzz::targets() {
        let dir: PathBuf = root.join(target);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        let seeds = seeds();
        let bytes: usize = seeds.iter().map(|s| s.bytes.len()).sum();
        for seed in seeds.iter() {
            std::fs::write(dir.join(&seed.name), &seed.bytes)?;
        }
        println!("{target}: {} seeds, {bytes} bytes", seeds.len());
    }
    Ok(())
}
