package tax

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseRate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want Rate
	}{
		{"19", 1900}, {"5.5", 550}, {"0", 0}, {"2.1", 210}, {"25.5", 2550}, {"0.01", 1},
		{"100", 10000}, {"19.0", 1900}, {"19.000", 1900}, {" 7.7 ", 770}, {".5", 50},
		{"1.9e1", 1900}, {"550e-2", 550}, {"-0", 0}, {"+19", 1900}, {"007", 700},
	} {
		t.Run("accepts "+tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseRate(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	for _, in := range []string{"", " ", "abc", "5.555", "0.001", "-1", "-0.01", "100.01", "101", "19%", "1/3",
		"0x10", "1e999", "1e-999", "NaN", "Inf", "1,5", "1.2.3", "."} {
		t.Run("rejects "+in, func(t *testing.T) {
			t.Parallel()
			_, err := ParseRate(in)
			require.ErrorIs(t, err, ErrInvalidInput)
		})
	}
}

func TestRateString(t *testing.T) {
	t.Parallel()
	for r, want := range map[Rate]string{1900: "19", 550: "5.5", 0: "0", 210: "2.1", 1: "0.01", 25: "0.25", 10000: "100", 2550: "25.5", -50: "-0.5"} {
		require.Equal(t, want, r.String())
	}
}

func TestRateJSON(t *testing.T) {
	t.Parallel()
	t.Run("marshals as a number in percent", func(t *testing.T) {
		t.Parallel()
		b, err := json.Marshal(map[string]Rate{"a": 1900, "b": 550, "c": 0, "d": 1})
		require.NoError(t, err)
		require.JSONEq(t, `{"a":19,"b":5.5,"c":0,"d":0.01}`, string(b))
	})
	t.Run("unmarshals numbers and numeric strings exactly", func(t *testing.T) {
		t.Parallel()
		for in, want := range map[string]Rate{`19`: 1900, `5.5`: 550, `19.0`: 1900, `7.7`: 770, `"19"`: 1900,
			`"5.5"`: 550, `0`: 0, `2.675`: -1, `1.9e1`: 1900} {
			var got struct{ R Rate }
			err := json.Unmarshal([]byte(`{"R":`+in+`}`), &got)
			if want < 0 {
				require.ErrorIs(t, err, ErrInvalidInput, in)
				continue
			}
			require.NoError(t, err, in)
			require.Equal(t, want, got.R, in)
		}
	})
	t.Run("0.1 plus 0.2 style values stay exact", func(t *testing.T) {
		t.Parallel()
		// 7.7 * 100 is 770.0000000000001 in float64; parsing the text avoids that
		var r Rate
		require.NoError(t, json.Unmarshal([]byte(`7.7`), &r))
		require.Equal(t, Rate(770), r)
	})
	t.Run("rejects what is not a rate", func(t *testing.T) {
		t.Parallel()
		for _, in := range []string{`-1`, `"-1"`, `100.5`, `"abc"`, `true`, `[]`, `{}`, `"1/3"`, `19.001`} {
			var r Rate
			require.Error(t, json.Unmarshal([]byte(in), &r), in)
		}
	})
	t.Run("null leaves an optional rate unset", func(t *testing.T) {
		t.Parallel()
		var l Line
		require.NoError(t, json.Unmarshal([]byte(`{"type":"goods","quantity":1,"unitPrice":5,"rate":null}`), &l))
		require.Nil(t, l.Rate)
		require.NoError(t, json.Unmarshal([]byte(`{"type":"goods","quantity":1,"unitPrice":5,"rate":"7"}`), &l))
		require.Equal(t, Rate(700), *l.Rate)
	})
}

func TestRateRoundTripsThroughText(t *testing.T) {
	t.Parallel()
	for r := Rate(0); r <= MaxRate; r++ {
		got, err := ParseRate(r.String())
		if err != nil || got != r {
			require.FailNow(t, fmt.Sprintf("%d -> %q -> %d, %v", r, r.String(), got, err))
		}
	}
}

// A huge rate literal is refused unread: exact parsing of it would cost quadratic time, and its
// error message does not quote it.
func TestParseRateRefusesHugeLiterals(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("0", 1<<20) + "19"
	_, err := ParseRate(huge)
	require.ErrorIs(t, err, ErrInvalidInput)
	require.Less(t, len(err.Error()), 200)
	var r Rate
	err = json.Unmarshal([]byte(`"`+huge+`"`), &r)
	require.ErrorIs(t, err, ErrInvalidInput)
	require.Less(t, len(err.Error()), 200)
	got, err := ParseRate(strings.Repeat("0", MaxRateText-2) + "19")
	require.NoError(t, err)
	require.Equal(t, Rate(1900), got)
}
