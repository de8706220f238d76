//! Dense matrix products on `matrixmultiply`'s sgemm, optionally split over threads.
//!
//! Splitting is over rows of the output only, and every output element is computed by the same
//! kernel with the same summation order whatever the split, so results are identical for any
//! thread count (tested).

use std::sync::atomic::{AtomicUsize, Ordering};

static THREADS: AtomicUsize = AtomicUsize::new(1);

/// Products smaller than this many multiply-adds stay on one thread (spawning costs more).
const PARALLEL_MIN_MACS: usize = 1 << 20;

/// Sets the number of threads used by large matrix products (default 1; at least 1).
pub fn set_threads(n: usize) {
    THREADS.store(n.max(1), Ordering::Relaxed);
}

/// The number of threads large matrix products use.
pub fn threads() -> usize {
    THREADS.load(Ordering::Relaxed)
}

/// A read-only matrix operand: row-major data of `rows x cols`, optionally used transposed.
#[derive(Clone, Copy)]
pub struct Mat<'a> {
    /// Row-major values.
    pub data: &'a [f32],
    /// Rows of the stored matrix.
    pub rows: usize,
    /// Columns of the stored matrix.
    pub cols: usize,
    /// Use the transpose of the stored matrix.
    pub transposed: bool,
}

impl<'a> Mat<'a> {
    /// A stored `rows x cols` matrix used as is.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Mat {
            data,
            rows,
            cols,
            transposed: false,
        }
    }

    /// The same storage used transposed.
    pub fn t(self) -> Self {
        Mat {
            transposed: !self.transposed,
            ..self
        }
    }

    fn shape(&self) -> (usize, usize) {
        if self.transposed {
            (self.cols, self.rows)
        } else {
            (self.rows, self.cols)
        }
    }

    /// (row stride, column stride) of the logical matrix.
    fn strides(&self) -> (isize, isize) {
        if self.transposed {
            (1, self.cols as isize)
        } else {
            (self.cols as isize, 1)
        }
    }
}

/// `c = alpha * a * b + beta * c`, with `c` row-major `m x n`. Panics on inconsistent shapes
/// (a programming error inside the engine, never user input).
pub fn gemm(alpha: f32, a: Mat, b: Mat, beta: f32, c: &mut [f32]) {
    let (m, k) = a.shape();
    let (k2, n) = b.shape();
    assert_eq!(k, k2, "gemm: inner dimensions differ");
    assert_eq!(c.len(), m * n, "gemm: output size");
    assert!(a.data.len() >= a.rows * a.cols && b.data.len() >= b.rows * b.cols);
    if m == 0 || n == 0 {
        return;
    }
    let t = threads().min(m);
    if t <= 1 || m * n * k < PARALLEL_MIN_MACS {
        gemm_rows(alpha, a, b, beta, c, 0, m);
        return;
    }
    let chunk = m.div_ceil(t);
    std::thread::scope(|s| {
        for (i, c_part) in c.chunks_mut(chunk * n).enumerate() {
            let start = i * chunk;
            let rows = c_part.len() / n;
            s.spawn(move || gemm_rows(alpha, a, b, beta, c_part, start, rows));
        }
    });
}

/// Computes output rows `start..start + rows` into `c` (which holds exactly those rows).
fn gemm_rows(alpha: f32, a: Mat, b: Mat, beta: f32, c: &mut [f32], start: usize, rows: usize) {
    let (_, k) = a.shape();
    let (_, n) = b.shape();
    let (rsa, csa) = a.strides();
    let (rsb, csb) = b.strides();
    let a_offset = start as isize * rsa;
    // SAFETY: the strides and dimensions describe sub-matrices inside `a.data`, `b.data` and `c`
    // (checked by the asserts in `gemm`); `c` is exclusively borrowed.
    unsafe {
        matrixmultiply::sgemm(
            rows,
            k,
            n,
            alpha,
            a.data.as_ptr().offset(a_offset),
            rsa,
            csa,
            b.data.as_ptr(),
            rsb,
            csb,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], m: usize, k: usize, b: &[f32], n: usize) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        c
    }

    #[test]
    fn gemm_matches_naive_with_transposes() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let want = naive(&a, m, k, &b, n);
        let mut c = vec![0.0; m * n];
        gemm(1.0, Mat::new(&a, m, k), Mat::new(&b, k, n), 0.0, &mut c);
        for (x, y) in c.iter().zip(&want) {
            assert!((x - y).abs() < 1e-5);
        }
        // a^T stored as k x m, used transposed.
        let mut at = vec![0.0; k * m];
        for i in 0..m {
            for p in 0..k {
                at[p * m + i] = a[i * k + p];
            }
        }
        let mut c2 = vec![1.0; m * n];
        gemm(
            1.0,
            Mat::new(&at, k, m).t(),
            Mat::new(&b, k, n),
            1.0,
            &mut c2,
        );
        for (x, y) in c2.iter().zip(&want) {
            assert!((x - (y + 1.0)).abs() < 1e-5);
        }
    }
}

/// A strided matrix view: element (i, j) is `data[offset + i * row_stride + j * col_stride]`.
/// Lets products read and write column blocks of a larger matrix in place.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub data: &'a [f32],
    pub offset: usize,
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

fn last_index(offset: usize, rows: usize, cols: usize, rs: usize, cs: usize) -> usize {
    offset + (rows.max(1) - 1) * rs + (cols.max(1) - 1) * cs
}

/// `c = alpha * a * b + beta * c` on strided views (single-threaded). `c` is given by its buffer
/// and layout. Panics when a view reaches outside its buffer (an engine bug, not user input).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_views(
    alpha: f32,
    a: View,
    b: View,
    beta: f32,
    c: &mut [f32],
    c_offset: usize,
    c_row_stride: usize,
    c_col_stride: usize,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(k, b.rows, "gemm_views: inner dimensions differ");
    if m == 0 || n == 0 {
        return;
    }
    assert!(k == 0 || last_index(a.offset, m, k, a.row_stride, a.col_stride) < a.data.len());
    assert!(k == 0 || last_index(b.offset, k, n, b.row_stride, b.col_stride) < b.data.len());
    assert!(last_index(c_offset, m, n, c_row_stride, c_col_stride) < c.len());
    // SAFETY: the asserts above keep every addressed element inside its buffer; `c` is
    // exclusively borrowed.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            alpha,
            a.data.as_ptr().add(a.offset),
            a.row_stride as isize,
            a.col_stride as isize,
            b.data.as_ptr().add(b.offset),
            b.row_stride as isize,
            b.col_stride as isize,
            beta,
            c.as_mut_ptr().add(c_offset),
            c_row_stride as isize,
            c_col_stride as isize,
        );
    }
}
