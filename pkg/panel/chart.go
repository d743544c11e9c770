package panel

import (
	"strconv"
	"strings"
	"time"

	"paygate.dev/pkg/reporting"
)

// The chart's drawing area, in SVG user units.
const (
	chartWidth  = 720
	chartHeight = 220
	chartLeft   = 96 // room for the amount labels
	chartRight  = 16
	chartTop    = 16
	chartBottom = 40 // room for the day labels
)

// chart is one currency's daily gross and net, drawn on the server as SVG (no script).
type chart struct {
	Currency string
	Width    int
	Height   int
	Gross    string // polyline points
	Net      string
	Points   []chartPoint
	Max      int64 // the top of the scale (minor units)
	// Axis lines and labels.
	Left, Right, Top, Bottom int
	MidY                     int
	FirstDay, LastDay        time.Time
	Days                     int
}

// chartPoint is one day's mark on the gross line.
type chartPoint struct {
	X, Y, NetY int
	Day        time.Time
	Gross, Net int64
}

// newChart scales a currency's days into the chart. Net may go below zero (refunds larger than
// the day's gross): the scale then starts below zero.
func newChart(cur reporting.Currency) chart {
	c := chart{Currency: cur.Code, Width: chartWidth, Height: chartHeight, Left: chartLeft, Right: chartWidth - chartRight,
		Top: chartTop, Bottom: chartHeight - chartBottom, Days: len(cur.Days)}
	var hi, lo int64
	for _, d := range cur.Days {
		hi = max(hi, d.Gross, d.Net())
		lo = min(lo, d.Net())
	}
	if hi == 0 && lo == 0 {
		hi = 1
	}
	c.Max = hi
	span := hi - lo
	y := func(v int64) int {
		return c.Bottom - int((v-lo)*int64(c.Bottom-c.Top)/span)
	}
	c.MidY = y(0)
	step := 0
	if n := len(cur.Days); n > 1 {
		step = (c.Right - c.Left) * 1000 / (n - 1)
	}
	var gross, net []string
	for i, d := range cur.Days {
		x := c.Left + i*step/1000
		if len(cur.Days) == 1 {
			x = (c.Left + c.Right) / 2
		}
		pt := chartPoint{X: x, Y: y(d.Gross), NetY: y(d.Net()), Day: d.Date, Gross: d.Gross, Net: d.Net()}
		c.Points = append(c.Points, pt)
		gross = append(gross, strconv.Itoa(pt.X)+","+strconv.Itoa(pt.Y))
		net = append(net, strconv.Itoa(pt.X)+","+strconv.Itoa(pt.NetY))
	}
	c.Gross, c.Net = strings.Join(gross, " "), strings.Join(net, " ")
	if n := len(cur.Days); n > 0 {
		c.FirstDay, c.LastDay = cur.Days[0].Date, cur.Days[n-1].Date
	}
	return c
}
