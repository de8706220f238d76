//! Checkpoints in the `safetensors` format: named f32 tensors, named byte strings (models that
//! are not tensors, such as a tree ensemble's own encoding, stored as U8 tensors) and string
//! metadata, written atomically. Models and optimiser state go in together so training resumes exactly. Every file
//! carries a SHA-256 of its content in its metadata, verified on load, and holds finite values
//! only: a flipped byte or a diverged network is refused, never resumed or deployed.

use crate::optim::{Adam, AdamConfig};
use crate::{Mlp, MlpConfig, NnError, Result};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The metadata key of the content checksum (hex SHA-256 of `Checkpoint::digest`).
pub const CHECKSUM_KEY: &str = "imbarb.sha256";

/// An in-memory checkpoint: tensors by name and metadata by key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checkpoint {
    tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    bytes: BTreeMap<String, Vec<u8>>,
    metadata: BTreeMap<String, String>,
}

fn bytes_of(data: &[f32]) -> Vec<u8> {
    data.iter().flat_map(|x| x.to_le_bytes()).collect()
}

impl Checkpoint {
    /// An empty checkpoint.
    pub fn new() -> Checkpoint {
        Checkpoint::default()
    }

    /// Stores a tensor; `shape`'s product must equal `data.len()`.
    pub fn put(&mut self, name: &str, shape: Vec<usize>, data: &[f32]) -> Result<()> {
        if self.bytes.contains_key(name) {
            return Err(NnError::Shape(format!(
                "tensor {name}: a byte string has that name"
            )));
        }
        if shape.iter().product::<usize>() != data.len() {
            return Err(NnError::Shape(format!(
                "tensor {name}: shape {shape:?} does not hold {} values",
                data.len()
            )));
        }
        self.tensors
            .insert(name.to_string(), (shape, data.to_vec()));
        Ok(())
    }

    /// A stored tensor's values.
    pub fn get(&self, name: &str) -> Result<&[f32]> {
        self.tensors
            .get(name)
            .map(|(_, d)| d.as_slice())
            .ok_or_else(|| NnError::Shape(format!("checkpoint has no tensor `{name}`")))
    }

    /// The stored tensors' names, in order.
    pub fn tensor_names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// A stored tensor's shape.
    pub fn shape(&self, name: &str) -> Option<&[usize]> {
        self.tensors.get(name).map(|(s, _)| s.as_slice())
    }

    /// Stores a byte string (a model in its own encoding); its name must not be a tensor's.
    pub fn put_bytes(&mut self, name: &str, data: Vec<u8>) -> Result<()> {
        if self.tensors.contains_key(name) {
            return Err(NnError::Shape(format!(
                "byte string {name}: a tensor has that name"
            )));
        }
        self.bytes.insert(name.to_string(), data);
        Ok(())
    }

    /// A stored byte string.
    pub fn get_bytes(&self, name: &str) -> Result<&[u8]> {
        self.bytes
            .get(name)
            .map(Vec::as_slice)
            .ok_or_else(|| NnError::Shape(format!("checkpoint has no byte string `{name}`")))
    }

    /// Sets a metadata entry.
    pub fn set_meta(&mut self, key: &str, value: impl Into<String>) {
        self.metadata.insert(key.to_string(), value.into());
    }

    /// A metadata entry.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).map(String::as_str)
    }

    /// Stores an MLP under `prefix`: its configuration as metadata and one tensor per block.
    pub fn put_mlp(&mut self, prefix: &str, mlp: &Mlp) -> Result<()> {
        let config = serde_json::to_string(mlp.config())
            .map_err(|e| NnError::Shape(format!("{prefix}: {e}")))?;
        self.set_meta(&format!("{prefix}.config"), config);
        for (name, shape, range) in mlp.named_blocks() {
            self.put(&format!("{prefix}.{name}"), shape, &mlp.params()[range])?;
        }
        Ok(())
    }

    /// Rebuilds the MLP stored under `prefix`.
    pub fn mlp(&self, prefix: &str) -> Result<Mlp> {
        let text = self
            .meta(&format!("{prefix}.config"))
            .ok_or_else(|| NnError::Shape(format!("checkpoint has no MLP `{prefix}`")))?;
        let config: MlpConfig = serde_json::from_str(text)
            .map_err(|e| NnError::Shape(format!("{prefix}.config: {e}")))?;
        let mut mlp = Mlp::new(config, 0)?;
        let mut params = vec![0.0; mlp.num_params()];
        for (name, shape, range) in mlp.named_blocks() {
            let key = format!("{prefix}.{name}");
            if self.shape(&key) != Some(&shape[..]) {
                return Err(NnError::Shape(format!(
                    "{key}: expected shape {shape:?}, found {:?}",
                    self.shape(&key)
                )));
            }
            params[range].copy_from_slice(self.get(&key)?);
        }
        mlp.set_params(&params)?;
        Ok(mlp)
    }

    /// Stores Adam's state under `prefix`.
    pub fn put_adam(&mut self, prefix: &str, adam: &Adam) -> Result<()> {
        let config = serde_json::to_string(&adam.config)
            .map_err(|e| NnError::Shape(format!("{prefix}: {e}")))?;
        self.set_meta(&format!("{prefix}.config"), config);
        self.set_meta(&format!("{prefix}.step"), adam.step.to_string());
        self.put(&format!("{prefix}.m"), vec![adam.m.len()], &adam.m)?;
        self.put(&format!("{prefix}.v"), vec![adam.v.len()], &adam.v)
    }

    /// Restores the Adam state stored under `prefix`.
    pub fn adam(&self, prefix: &str) -> Result<Adam> {
        let missing = |k: &str| NnError::Shape(format!("checkpoint has no `{prefix}.{k}`"));
        let config: AdamConfig = serde_json::from_str(
            self.meta(&format!("{prefix}.config"))
                .ok_or_else(|| missing("config"))?,
        )
        .map_err(|e| NnError::Shape(format!("{prefix}.config: {e}")))?;
        let step = self
            .meta(&format!("{prefix}.step"))
            .ok_or_else(|| missing("step"))?
            .parse()
            .map_err(|e| NnError::Shape(format!("{prefix}.step: {e}")))?;
        let m = self.get(&format!("{prefix}.m"))?.to_vec();
        let v = self.get(&format!("{prefix}.v"))?.to_vec();
        if m.len() != v.len() {
            return Err(NnError::Shape(format!(
                "{prefix}: m and v differ in length"
            )));
        }
        Ok(Adam { config, step, m, v })
    }

    /// Moves every tensor the fraction `weight` of the way toward the tensor of the same name in
    /// `other` (one step of an exponential moving average of weights); metadata stays. Errors
    /// unless both hold the same tensor names and shapes.
    pub fn lerp_toward(&mut self, other: &Checkpoint, weight: f32) -> Result<()> {
        let same_names = self.tensors.len() == other.tensors.len()
            && self.tensors.keys().eq(other.tensors.keys());
        if !same_names {
            return Err(NnError::Shape(format!(
                "averaging checkpoints with different tensors: {:?} vs {:?}",
                self.tensors.keys().collect::<Vec<_>>(),
                other.tensors.keys().collect::<Vec<_>>()
            )));
        }
        for (name, (shape, data)) in &mut self.tensors {
            let (other_shape, other_data) = &other.tensors[name];
            if shape != other_shape {
                return Err(NnError::Shape(format!(
                    "averaging {name}: shape {shape:?} vs {other_shape:?}"
                )));
            }
            // x + w (y - x) leaves equal values (constants such as a C51 support) bit-exact.
            for (x, y) in data.iter_mut().zip(other_data) {
                *x += weight * (y - *x);
            }
        }
        Ok(())
    }

    /// Stores every tensor and metadata entry of `other` under `prefix/` (a checkpoint inside a
    /// checkpoint, read back with `nested`).
    pub fn put_nested(&mut self, prefix: &str, other: &Checkpoint) {
        for (k, v) in &other.tensors {
            self.tensors.insert(format!("{prefix}/{k}"), v.clone());
        }
        for (k, v) in &other.bytes {
            self.bytes.insert(format!("{prefix}/{k}"), v.clone());
        }
        for (k, v) in &other.metadata {
            self.metadata.insert(format!("{prefix}/{k}"), v.clone());
        }
    }

    /// What `put_nested` stored under `prefix/`, as a checkpoint of its own (empty if nothing).
    pub fn nested(&self, prefix: &str) -> Checkpoint {
        let strip = |k: &String| k.strip_prefix(prefix)?.strip_prefix('/').map(String::from);
        Checkpoint {
            tensors: self
                .tensors
                .iter()
                .filter_map(|(k, v)| Some((strip(k)?, v.clone())))
                .collect(),
            bytes: self
                .bytes
                .iter()
                .filter_map(|(k, v)| Some((strip(k)?, v.clone())))
                .collect(),
            metadata: self
                .metadata
                .iter()
                .filter_map(|(k, v)| Some((strip(k)?, v.clone())))
                .collect(),
        }
    }

    /// True when it holds no tensor and no byte string.
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty() && self.bytes.is_empty()
    }

    /// The first tensor (by name) holding a NaN or infinity, with the value's index.
    pub fn first_non_finite(&self) -> Option<(&str, usize)> {
        self.tensors.iter().find_map(|(name, (_, data))| {
            data.iter()
                .position(|x| !x.is_finite())
                .map(|i| (name.as_str(), i))
        })
    }

    /// SHA-256 (hex) of the content: every tensor's name, shape and values, every metadata
    /// entry but the checksum itself and every byte string, in name order, so equal checkpoints
    /// hash equal whatever order the file's header lists them in (a checkpoint without byte
    /// strings hashes as before they existed, so older files still verify).
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        for (name, (shape, data)) in &self.tensors {
            h.update(name.as_bytes());
            h.update([0u8]);
            h.update((shape.len() as u64).to_le_bytes());
            for d in shape {
                h.update((*d as u64).to_le_bytes());
            }
            for x in data {
                h.update(x.to_le_bytes());
            }
        }
        for (k, v) in self.metadata.iter().filter(|(k, _)| *k != CHECKSUM_KEY) {
            h.update(k.as_bytes());
            h.update([0u8]);
            h.update(v.as_bytes());
            h.update([0u8]);
        }
        for (name, data) in &self.bytes {
            h.update(b"bytes\0");
            h.update(name.as_bytes());
            h.update([0u8]);
            h.update((data.len() as u64).to_le_bytes());
            h.update(data);
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Serialises to safetensors bytes, with the content checksum. Refuses non-finite values:
    /// a checkpoint is something to resume from or deploy.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        if let Some((name, i)) = self.first_non_finite() {
            return Err(NnError::Shape(format!(
                "tensor {name} holds a non-finite value at index {i}; not saved"
            )));
        }
        let raw: Vec<(String, Vec<usize>, Vec<u8>)> = self
            .tensors
            .iter()
            .map(|(k, (s, d))| (k.clone(), s.clone(), bytes_of(d)))
            .collect();
        let mut views = Vec::with_capacity(raw.len() + self.bytes.len());
        for (k, s, b) in &raw {
            let view = TensorView::new(Dtype::F32, s.clone(), b)
                .map_err(|e| NnError::Shape(format!("{k}: {e:?}")))?;
            views.push((k.clone(), view));
        }
        for (k, b) in &self.bytes {
            let view = TensorView::new(Dtype::U8, vec![b.len()], b)
                .map_err(|e| NnError::Shape(format!("{k}: {e:?}")))?;
            views.push((k.clone(), view));
        }
        let mut meta: HashMap<String, String> = self.metadata.clone().into_iter().collect();
        meta.insert(CHECKSUM_KEY.to_string(), self.digest());
        safetensors::tensor::serialize(views, &Some(meta))
            .map_err(|e| NnError::Shape(format!("serialise: {e:?}")))
    }

    /// Parses safetensors bytes and verifies them (checksum, finite values); `name` stands for
    /// the file in error messages.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Checkpoint> {
        let bad = |message: String| NnError::Checkpoint {
            path: name.to_string(),
            message,
        };
        let (_, header) = SafeTensors::read_metadata(bytes)
            .map_err(|e| bad(format!("not a safetensors file: {e:?}")))?;
        let st = SafeTensors::deserialize(bytes).map_err(|e| bad(format!("corrupt: {e:?}")))?;
        let mut ck = Checkpoint::new();
        if let Some(m) = header.metadata() {
            ck.metadata = m.clone().into_iter().collect();
        }
        for (k, view) in st.tensors() {
            if view.dtype() == Dtype::U8 && view.shape().len() == 1 {
                ck.bytes.insert(k, view.data().to_vec());
                continue;
            }
            if view.dtype() != Dtype::F32 {
                return Err(bad(format!(
                    "tensor {k}: expected F32 (or a U8 byte string), found {:?}",
                    view.dtype()
                )));
            }
            let data: Vec<f32> = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            ck.tensors.insert(k, (view.shape().to_vec(), data));
        }
        let Some(stored) = ck.metadata.remove(CHECKSUM_KEY) else {
            return Err(bad(format!(
                "has no `{CHECKSUM_KEY}` checksum: not written by this imbarb, cannot be trusted"
            )));
        };
        let actual = ck.digest();
        if stored != actual {
            return Err(bad(format!(
                "checksum mismatch (stored {stored}, content {actual}): the file is corrupt"
            )));
        }
        if let Some((tensor, i)) = ck.first_non_finite() {
            return Err(bad(format!(
                "tensor {tensor} holds a non-finite value at index {i}"
            )));
        }
        Ok(ck)
    }

    /// Writes the checkpoint atomically (temporary file in the same folder, then rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = self.to_bytes()?;
        imbarb_util::fs::write_atomic(path, &bytes).map_err(|e| NnError::Checkpoint {
            path: path.display().to_string(),
            message: e.reason.to_string(),
        })
    }

    /// Reads a checkpoint file.
    pub fn load(path: &Path) -> Result<Checkpoint> {
        let bytes = std::fs::read(path).map_err(|e| NnError::Checkpoint {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Checkpoint::from_bytes(&path.display().to_string(), &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(name: &str, data: &[f32]) -> Checkpoint {
        let mut ck = Checkpoint::new();
        ck.put(name, vec![data.len()], data).expect("put");
        ck
    }

    /// By hand: a quarter of the way from (0, 4, 7) to (8, 0, 7) is (2, 3, 7), the equal value
    /// exactly; different names or shapes are refused.
    #[test]
    fn lerp_toward_moves_each_value_by_the_weight() {
        let mut avg = one("w", &[0.0, 4.0, 7.1]);
        avg.set_meta("w.config", "kept");
        avg.lerp_toward(&one("w", &[8.0, 0.0, 7.1]), 0.25)
            .expect("same tensors");
        assert_eq!(avg.get("w").expect("w"), &[2.0, 3.0, 7.1]);
        assert_eq!(avg.meta("w.config"), Some("kept"));
        let err = avg.lerp_toward(&one("v", &[1.0, 2.0, 3.0]), 0.5);
        assert!(err.is_err_and(|e| e.to_string().contains("different tensors")));
        let err = avg.lerp_toward(&one("w", &[1.0, 2.0]), 0.5);
        assert!(err.is_err_and(|e| e.to_string().contains("shape")));
    }

    /// Any flipped byte of a saved checkpoint is refused (by the checksum or the format), and
    /// so is a non-finite value; the intact file loads back equal.
    #[test]
    fn corrupt_or_non_finite_checkpoints_are_refused() {
        let mut ck = one("net.w", &[1.0, -2.5, 3.25, 0.0]);
        ck.set_meta("progress", "{\"steps\":7}");
        ck.put_bytes("trees", vec![0, 255, 7, 42, 0x80])
            .expect("bytes");
        let bytes = ck.to_bytes().expect("bytes");
        assert_eq!(Checkpoint::from_bytes("x", &bytes).expect("intact"), ck);
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            assert!(
                Checkpoint::from_bytes("x", &bad).is_err(),
                "flipped byte {i} of {} loaded",
                bytes.len()
            );
        }
        let truncated = &bytes[..bytes.len() - 3];
        assert!(Checkpoint::from_bytes("x", truncated).is_err());
        let nan = one("net.w", &[1.0, f32::NAN]);
        let e = nan.to_bytes().expect_err("NaN saved").to_string();
        assert!(e.contains("net.w") && e.contains("index 1"), "{e}");
        assert_eq!(nan.first_non_finite(), Some(("net.w", 1)));
        assert_eq!(
            Checkpoint::from_bytes("x", b"not a checkpoint")
                .map(|_| ())
                .unwrap_err()
                .to_string()
                .split(':')
                .next(),
            Some("x")
        );
    }

    /// A file without the checksum (another tool's safetensors) is refused, naming the key.
    #[test]
    fn a_checkpoint_without_checksum_is_refused() {
        let data = bytes_of(&[1.0, 2.0]);
        let view = TensorView::new(Dtype::F32, vec![2], &data).expect("view");
        let bytes =
            safetensors::tensor::serialize(vec![("w".to_string(), view)], &None).expect("bytes");
        let e = Checkpoint::from_bytes("foreign.safetensors", &bytes)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("foreign.safetensors") && e.contains(CHECKSUM_KEY),
            "{e}"
        );
    }

    /// A nested checkpoint comes back whole, apart from the outer one's own entries, also
    /// through the file format.
    #[test]
    fn nested_checkpoints_round_trip() {
        let mut inner = one("net.w", &[1.0, 2.0]);
        inner.set_meta("net.config", "{}");
        let mut outer = one("net.w", &[9.0]);
        outer.set_meta("progress", "3");
        outer.put_nested("average", &inner);
        let back = Checkpoint::from_bytes("x", &outer.to_bytes().expect("bytes")).expect("parse");
        assert_eq!(back.nested("average"), inner);
        assert_eq!(back.get("net.w").expect("outer"), &[9.0]);
        assert!(back.nested("averag").is_empty() && back.nested("other").is_empty());
    }

    /// Byte strings come back exactly (nested too), count in the checksum, and share no name
    /// with a tensor; a checkpoint without any keeps the digest it had before they existed
    /// (the SHA-256 of its entries alone, recomputed here by hand).
    #[test]
    fn byte_strings_round_trip_and_are_checked() {
        let mut inner = Checkpoint::new();
        inner
            .put_bytes("model.h1", (0..=255).collect())
            .expect("bytes");
        inner.put_bytes("empty", vec![]).expect("bytes");
        let mut ck = one("w", &[1.0]);
        ck.put_nested("trees", &inner);
        let back = Checkpoint::from_bytes("x", &ck.to_bytes().expect("bytes")).expect("parse");
        assert_eq!(back, ck);
        assert_eq!(
            back.nested("trees").get_bytes("model.h1").expect("h1")[255],
            255
        );
        assert!(back.get_bytes("model.h1").is_err() && !back.nested("trees").is_empty());
        let mut other = ck.clone();
        other.put_bytes("trees/empty", vec![1]).expect("bytes");
        assert_ne!(other.digest(), ck.digest());
        assert!(ck.put_bytes("w", vec![]).is_err());
        assert!(ck.put("trees/empty", vec![1], &[0.0]).is_err());
        let mut plain = one("w", &[1.0]);
        plain.set_meta("k", "v");
        let mut h = Sha256::new();
        h.update(b"w\0");
        h.update(1u64.to_le_bytes());
        h.update(1u64.to_le_bytes());
        h.update(1.0f32.to_le_bytes());
        h.update(b"k\0v\0");
        let by_hand: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(plain.digest(), by_hand);
    }
}
