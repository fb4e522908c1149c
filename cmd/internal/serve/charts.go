package serve

import (
	"fmt"
	"html/template"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/chorus-elt/chorus-elt/cmd/internal/serve/answers"
)

// Charts are inline SVG written here: no script, no library, nothing
// fetched. Text in them is escaped; everything else is numbers.

// chart geometry, in SVG user units.
const (
	chartW, chartH                = 720, 260
	padL, padR, padTop, padBottom = 44, 16, 16, 56
)

// bandColor is the colour of a health band.
func bandColor(band string) string {
	switch band {
	case "green":
		return "#2e7d32"
	case "amber":
		return "#ef8f00"
	case "red":
		return "#c62828"
	}
	return "#607d8b"
}

// categoryColors are the tracker-trends series colours, in order.
var categoryColors = []string{"#1565c0", "#c62828", "#6a1b9a", "#2e7d32", "#ef6c00", "#00838f", "#ad1457", "#4e342e"}

// svgChart draws the axes of a chart with n points on x and y from 0 to
// yMax, and returns the builder and the point mapping.
type svgChart struct {
	b     strings.Builder
	n     int
	yMin  float64 // 0 unless a chart has negative values
	yMax  float64
	label string
}

func newChart(label string, n int, yMax float64) *svgChart {
	if yMax <= 0 {
		yMax = 1
	}
	c := &svgChart{n: n, yMax: yMax, label: label}
	fmt.Fprintf(&c.b, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="%s" font-family="system-ui, sans-serif">`,
		chartW, chartH, template.HTMLEscapeString(label))
	fmt.Fprintf(&c.b, `<title>%s</title>`, template.HTMLEscapeString(label))
	return c
}

func (c *svgChart) x(i int) float64 {
	plot := float64(chartW - padL - padR)
	if c.n <= 1 {
		return padL + plot/2
	}
	return padL + plot*float64(i)/float64(c.n-1)
}

func (c *svgChart) y(v float64) float64 {
	plot := float64(chartH - padTop - padBottom)
	return padTop + plot*(1-(v-c.yMin)/(c.yMax-c.yMin))
}

// axes draws horizontal grid lines with their values and the x labels
// (every k-th, so they do not overlap).
func (c *svgChart) axes(ticks []float64, xLabels []string) {
	for _, t := range ticks {
		y := c.y(t)
		fmt.Fprintf(&c.b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#dde3ea" stroke-width="1"/>`, padL, y, chartW-padR, y)
		fmt.Fprintf(&c.b, `<text x="%d" y="%.1f" font-size="11" text-anchor="end" fill="#546e7a">%s</text>`, padL-6, y+4, fmtTick(t))
	}
	k := int(math.Ceil(float64(len(xLabels)) / 10))
	if k < 1 {
		k = 1
	}
	for i, l := range xLabels {
		if i%k != 0 && i != len(xLabels)-1 {
			continue
		}
		fmt.Fprintf(&c.b, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle" fill="#546e7a">%s</text>`,
			c.x(i), chartH-padBottom+16, template.HTMLEscapeString(l))
	}
}

func (c *svgChart) html() template.HTML {
	c.b.WriteString(`</svg>`)
	return template.HTML(c.b.String()) // built from escaped text and numbers only
}

func fmtTick(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// shortWeek renders a week_start (YYYY-MM-DD) as MM-DD.
func shortWeek(d string) string {
	if len(d) == len("2006-01-02") {
		return d[5:]
	}
	return d
}

// healthChart draws the weekly health score: a line over 0–100, each
// week's point in the colour of its band.
func healthChart(weeks []answers.HealthWeek) template.HTML {
	if len(weeks) == 0 {
		return ""
	}
	c := newChart("Weekly health score", len(weeks), 100)
	labels := make([]string, len(weeks))
	for i, w := range weeks {
		labels[i] = shortWeek(w.WeekStart)
	}
	c.axes([]float64{0, 25, 50, 75, 100}, labels)
	pts := make([]weekPoint, len(weeks))
	for i, w := range weeks {
		pts[i] = weekPoint{week: w.WeekStart, value: w.Score, kind: w.Band, color: bandColor(w.Band)}
	}
	c.weekLine(pts)
	c.legend([]string{"green", "amber", "red"}, []string{bandColor("green"), bandColor("amber"), bandColor("red")})
	return c.html()
}

// weekPoint is a week's value on a line chart, its point coloured by
// kind (a health band, a momentum trend).
type weekPoint struct {
	week        string
	value       int64
	kind, color string
}

// weekLine draws a line through the weeks' values, with a point each
// whose tooltip names the week, the value and its kind.
func (c *svgChart) weekLine(pts []weekPoint) {
	xy := make([]string, len(pts))
	for i, p := range pts {
		xy[i] = fmt.Sprintf("%.1f,%.1f", c.x(i), c.y(float64(p.value)))
	}
	fmt.Fprintf(&c.b, `<polyline points="%s" fill="none" stroke="#37474f" stroke-width="2"/>`, strings.Join(xy, " "))
	for i, p := range pts {
		fmt.Fprintf(&c.b, `<circle cx="%.1f" cy="%.1f" r="4.5" fill="%s"><title>week of %s: %d (%s)</title></circle>`,
			c.x(i), c.y(float64(p.value)), p.color, template.HTMLEscapeString(p.week), p.value, template.HTMLEscapeString(p.kind))
	}
}

// momentumChart draws the weekly momentum score (momentum_4w) as a line,
// each week's point coloured by its trend; the score may be negative, so
// the scale runs from the lowest value (or 0) to the highest.
func momentumChart(weeks []answers.MomentumWeek) template.HTML {
	if len(weeks) == 0 {
		return ""
	}
	lo, hi := 0.0, 0.0
	labels := make([]string, len(weeks))
	for i, w := range weeks {
		lo, hi = min(lo, float64(w.Score)), max(hi, float64(w.Score))
		labels[i] = shortWeek(w.WeekStart)
	}
	top := niceMax(hi)
	bottom := 0.0
	if lo < 0 {
		bottom = -niceMax(-lo)
	}
	c := newChart("Weekly momentum score", len(weeks), top)
	c.yMin = bottom
	step := (top - bottom) / 4
	c.axes([]float64{bottom, bottom + step, bottom + 2*step, bottom + 3*step, top}, labels)
	pts := make([]weekPoint, len(weeks))
	for i, w := range weeks {
		pts[i] = weekPoint{week: w.WeekStart, value: w.Score, kind: w.Trend, color: trendColor(w.Trend)}
	}
	c.weekLine(pts)
	trends := []string{"rising", "steady", "falling", "stalled"}
	colors := make([]string, len(trends))
	for i, t := range trends {
		colors[i] = trendColor(t)
	}
	c.legend(trends, colors)
	return c.html()
}

// trendColor is a momentum trend's colour.
func trendColor(trend string) string {
	switch trend {
	case "rising":
		return bandColor("green")
	case "falling":
		return bandColor("red")
	case "stalled":
		return bandColor("amber")
	}
	return "#546e7a"
}

// trendsChart draws weekly mentions per signal category, a line each.
func trendsChart(points []answers.TrendPoint) template.HTML {
	if len(points) == 0 {
		return ""
	}
	cats := map[string]map[string]int64{}
	var yMax int64
	first, last := points[0].WeekStart, points[0].WeekStart
	for _, p := range points {
		if cats[p.Category] == nil {
			cats[p.Category] = map[string]int64{}
		}
		cats[p.Category][p.WeekStart] += p.Mentions
		yMax = max(yMax, cats[p.Category][p.WeekStart])
		first, last = min(first, p.WeekStart), max(last, p.WeekStart)
	}
	weeks := weekRange(first, last)
	names := make([]string, 0, len(cats))
	for k := range cats {
		names = append(names, k)
	}
	sort.Strings(names)
	top := niceMax(float64(yMax))
	c := newChart("Tracker mentions per week by category", len(weeks), top)
	labels := make([]string, len(weeks))
	for i, w := range weeks {
		labels[i] = shortWeek(w)
	}
	c.axes([]float64{0, top / 4, top / 2, 3 * top / 4, top}, labels)
	colors := make([]string, len(names))
	for n, cat := range names {
		colors[n] = categoryColors[n%len(categoryColors)]
		var pts []string
		for i, w := range weeks {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", c.x(i), c.y(float64(cats[cat][w]))))
		}
		fmt.Fprintf(&c.b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`, strings.Join(pts, " "), colors[n])
		for i, w := range weeks {
			fmt.Fprintf(&c.b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s, week of %s: %d</title></circle>`,
				c.x(i), c.y(float64(cats[cat][w])), colors[n], template.HTMLEscapeString(cat), template.HTMLEscapeString(w), cats[cat][w])
		}
	}
	c.legend(names, colors)
	return c.html()
}

// legend writes a row of coloured keys under the plot.
func (c *svgChart) legend(names, colors []string) {
	x := float64(padL)
	y := float64(chartH - 14)
	for i, n := range names {
		fmt.Fprintf(&c.b, `<rect x="%.1f" y="%.1f" width="10" height="10" fill="%s"/>`, x, y-9, colors[i])
		fmt.Fprintf(&c.b, `<text x="%.1f" y="%.1f" font-size="11" fill="#263238">%s</text>`, x+14, y, template.HTMLEscapeString(n))
		x += 22 + 6.5*float64(len([]rune(n)))
	}
}

// niceMax rounds a maximum up to 4, 8, 10, 20, 40, … so that quarter
// ticks are round numbers.
func niceMax(v float64) float64 {
	if v <= 4 {
		return 4
	}
	mag := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 4, 8, 10} {
		if m*mag >= v {
			return m * mag
		}
	}
	return 10 * mag
}

// weekRange lists the weeks from first to last (YYYY-MM-DD Mondays), so
// that a week without mentions shows as zero rather than not at all.
func weekRange(first, last string) []string {
	a, err1 := time.Parse(time.DateOnly, first)
	b, err2 := time.Parse(time.DateOnly, last)
	if err1 != nil || err2 != nil || b.Before(a) || b.Sub(a) > 5*366*24*time.Hour {
		if first == last {
			return []string{first}
		}
		return []string{first, last}
	}
	var out []string
	for d := a; !d.After(b); d = d.AddDate(0, 0, 7) {
		out = append(out, d.Format(time.DateOnly))
	}
	return out
}
