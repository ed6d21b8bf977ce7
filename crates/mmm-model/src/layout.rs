//! Where each parameter block lives in the model's flat parameter buffer.
//!
//! All parameters are one `Vec<f64>` so that one optimiser updates them as one slice; this module
//! is the single place that knows the offsets.

use std::ops::Range;

/// Offsets of every parameter block (see `docs/model.md` for the symbols).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Channels C.
    pub channels: usize,
    /// Regions R.
    pub regions: usize,
    /// Controls K.
    pub controls: usize,
    /// Fourier features 2J.
    pub fourier: usize,
    /// GRU hidden size H.
    pub hidden: usize,
    adstock_per_channel: usize,
    saturation_per_channel: usize,
    /// Adstock parameters, `adstock_per_channel` per channel, channel-major.
    pub adstock: Range<usize>,
    /// Saturation parameters, channel-major.
    pub saturation: Range<usize>,
    /// Unconstrained media coefficients θ_β (β_c = softplus θ_β,c), C values.
    pub beta: Range<usize>,
    /// Log region-effect multipliers η_{r,c}, `[region, channel]`.
    pub eta: Range<usize>,
    /// Region baselines b_r.
    pub base: Range<usize>,
    /// Shared trend δ (1 value).
    pub trend: Range<usize>,
    /// Region trend deviations Δδ_r.
    pub region_trend: Range<usize>,
    /// Shared seasonal weights φ_f, 2J values.
    pub season: Range<usize>,
    /// Region seasonal deviations Δφ_{r,f}, `[region, f]`.
    pub region_season: Range<usize>,
    /// Control coefficients γ_k.
    pub gamma: Range<usize>,
    /// GRU weights (layout of `mmm_gru::Gru`).
    pub gru: Range<usize>,
    /// Learned initial hidden state h₀ (shared by all regions).
    pub h0: Range<usize>,
    /// Effectiveness head V_m, `[channel, hidden]`.
    pub effect_head: Range<usize>,
    /// Effectiveness head bias c_m, C values.
    pub effect_bias: Range<usize>,
    /// Baseline head v_b, H values.
    pub base_head: Range<usize>,
    /// Baseline head bias c_b (1 value).
    pub base_bias: Range<usize>,
    /// Total number of parameters.
    pub len: usize,
}

impl Layout {
    /// Lays out the blocks for the given sizes.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        channels: usize,
        regions: usize,
        controls: usize,
        fourier: usize,
        hidden: usize,
        adstock_per_channel: usize,
        saturation_per_channel: usize,
        gru_params: usize,
    ) -> Self {
        let mut at = 0;
        let mut block = |n: usize| {
            let r = at..at + n;
            at += n;
            r
        };
        let adstock = block(channels * adstock_per_channel);
        let saturation = block(channels * saturation_per_channel);
        let beta = block(channels);
        let eta = block(regions * channels);
        let base = block(regions);
        let trend = block(1);
        let region_trend = block(regions);
        let season = block(fourier);
        let region_season = block(regions * fourier);
        let gamma = block(controls);
        let gru = block(gru_params);
        let h0 = block(hidden);
        let effect_head = block(channels * hidden);
        let effect_bias = block(channels);
        let base_head = block(hidden);
        let base_bias = block(1);
        Layout {
            channels,
            regions,
            controls,
            fourier,
            hidden,
            adstock_per_channel,
            saturation_per_channel,
            adstock,
            saturation,
            beta,
            eta,
            base,
            trend,
            region_trend,
            season,
            region_season,
            gamma,
            gru,
            h0,
            effect_head,
            effect_bias,
            base_head,
            base_bias,
            len: at,
        }
    }

    /// Adstock parameters of channel `c`.
    pub fn adstock_of(&self, c: usize) -> Range<usize> {
        let s = self.adstock.start + c * self.adstock_per_channel;
        s..s + self.adstock_per_channel
    }

    /// Saturation parameters of channel `c`.
    pub fn saturation_of(&self, c: usize) -> Range<usize> {
        let s = self.saturation.start + c * self.saturation_per_channel;
        s..s + self.saturation_per_channel
    }

    /// Index of η_{r,c}.
    pub fn eta_at(&self, r: usize, c: usize) -> usize {
        self.eta.start + r * self.channels + c
    }

    /// Index of Δφ_{r,f}.
    pub fn region_season_at(&self, r: usize, f: usize) -> usize {
        self.region_season.start + r * self.fourier + f
    }

    /// Every block of the media part: adstocks, saturations, coefficients β, region multipliers η
    /// and the effectiveness head (what a fixed media part holds, `Model::with_fixed_media`).
    pub fn media(&self) -> [Range<usize>; 6] {
        [
            self.adstock.clone(),
            self.saturation.clone(),
            self.beta.clone(),
            self.eta.clone(),
            self.effect_head.clone(),
            self.effect_bias.clone(),
        ]
    }

    /// The blocks that the GRU penalty covers (GRU weights and both modulation heads' weights).
    pub fn gru_penalised(&self) -> [Range<usize>; 3] {
        [
            self.gru.clone(),
            self.effect_head.clone(),
            self.base_head.clone(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_tile_the_buffer_without_gaps() {
        let l = Layout::new(3, 4, 2, 4, 5, 1, 2, 17);
        let mut blocks = vec![
            l.adstock.clone(),
            l.saturation.clone(),
            l.beta.clone(),
            l.eta.clone(),
            l.base.clone(),
            l.trend.clone(),
            l.region_trend.clone(),
            l.season.clone(),
            l.region_season.clone(),
            l.gamma.clone(),
            l.gru.clone(),
            l.h0.clone(),
            l.effect_head.clone(),
            l.effect_bias.clone(),
            l.base_head.clone(),
            l.base_bias.clone(),
        ];
        blocks.sort_by_key(|r| r.start);
        let mut at = 0;
        for b in blocks {
            assert_eq!(b.start, at);
            at = b.end;
        }
        assert_eq!(at, l.len);
        assert_eq!(
            l.saturation_of(2),
            l.saturation.start + 4..l.saturation.start + 6
        );
        assert_eq!(l.eta_at(3, 2), l.eta.start + 11);
    }
}
