package tracker_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// screenshot captures the viewport as a PNG, keeps it in $DEPOT_CLUSTERPAGE_SHOTS when set
// and returns it decoded.
func screenshot(ctx context.Context, t *testing.T, name string) image.Image {
	t.Helper()
	b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if dir := os.Getenv("DEPOT_CLUSTERPAGE_SHOTS"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, "clusterpage-"+name+".png"), b, 0o644); err != nil {
			t.Error(err)
		}
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot %s is not a PNG: %v", name, err)
	}
	return img
}

// checkDrawn checks that a screenshot is a drawn page: the viewport's size, the dark
// header bar across the top, and text (dark pixels, in many shades from anti-aliasing).
func checkDrawn(t *testing.T, img image.Image) {
	t.Helper()
	if b := img.Bounds(); b.Dx() != shotW || b.Dy() != shotH {
		t.Fatalf("screenshot is %dx%d, want %dx%d", b.Dx(), b.Dy(), shotW, shotH)
	}
	header := color.RGBA{0x24, 0x29, 0x2f, 0xff}
	for _, x := range []int{2, shotW / 2, shotW - 3} {
		if !near(img.At(x, 2), header, 8) {
			t.Errorf("screenshot pixel (%d,2) is %v, not the header's %v", x, img.At(x, 2), header)
		}
	}
	colours := map[color.Color]bool{}
	dark := 0
	for y := 60; y < shotH; y++ { // below the header
		for x := range shotW {
			c := img.At(x, y)
			colours[c] = true
			if r, g, b, _ := c.RGBA(); (r+g+b)/3 < 0x6000 {
				dark++
			}
		}
	}
	if len(colours) < 64 || dark < shotW*shotH/400 {
		t.Errorf("screenshot looks blank: %d colours, %d dark pixels below the header", len(colours), dark)
	}
}

type box struct{ X, Y, W, H float64 }

// rect is the state badge of a storage's row, in viewport pixels.
func rect(ctx context.Context, t *testing.T, key string) box {
	t.Helper()
	js := fmt.Sprintf(`(() => { const r = document.querySelector('tr[data-storage=%s] .badge').getBoundingClientRect();
		return {X: r.x, Y: r.y, W: r.width, H: r.height}; })()`, jsString(key))
	b, err := chromedp.Run(ctx, chromedp.Evaluate[box](js))
	if err != nil || b.W < 10 || b.H < 8 {
		t.Fatalf("badge of %s: %+v, %v", key, b, err)
	}
	return b
}

// wantColour checks that at least a third of the pixels of r in img are near c (a badge
// is its colour but for its white text and rounded corners).
func wantColour(t *testing.T, img image.Image, what string, r box, c color.RGBA) {
	t.Helper()
	n, hit := 0, 0
	for y := int(r.Y); y < int(r.Y+r.H); y++ {
		for x := int(r.X); x < int(r.X+r.W); x++ {
			n++
			if near(img.At(x, y), c, 24) {
				hit++
			}
		}
	}
	if n == 0 || hit*3 < n {
		t.Errorf("%s at %+v: %d of %d pixels near %v", what, r, hit, n, c)
	}
}

func near(a color.Color, b color.RGBA, tol int) bool {
	r, g, bl, _ := a.RGBA()
	d := func(x uint32, y uint8) bool { return abs(float64(int(x>>8)-int(y))) <= float64(tol) }
	return d(r, b.R) && d(g, b.G) && d(bl, b.B)
}
