package answers

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Customer is one of the seller's customers (the customers table).
type Customer struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Domains      []string `json:"domains"`
	CRMAccountID string   `json:"crm_account_id,omitempty"`
	CSMName      string   `json:"csm_name,omitempty"`
	CSMEmail     string   `json:"csm_email,omitempty"`
}

func customerOf(r row) Customer {
	c := Customer{ID: r.str("customer_id"), Name: r.str("name"), CRMAccountID: r.str("crm_account_id"),
		CSMName: r.str("csm_name"), CSMEmail: r.str("csm_email"), Domains: []string{}}
	for _, d := range strings.Split(r.str("domains"), ";") {
		if d = strings.TrimSpace(d); d != "" {
			c.Domains = append(c.Domains, d)
		}
	}
	return c
}

// CustomerSummary is a customer with its current health, for lists.
type CustomerSummary struct {
	Customer
	HealthScore *float64  `json:"health_score"` // null: no calls yet
	HealthBand  string    `json:"health_band,omitempty"`
	CallsTotal  int64     `json:"calls_total"`
	LastCallAt  time.Time `json:"last_call_at,omitzero"`
}

// customers lists every customer by name, with its health.
func (s *Store) customers(ctx context.Context) ([]CustomerSummary, error) {
	rows, err := s.query(ctx, "customers", fmt.Sprintf(`SELECT cu.customer_id, cu.name, cu.domains, cu.crm_account_id, cu.csm_name, cu.csm_email,
  h.health_score, h.health_band, h.calls_total, h.last_call_at
FROM %s AS cu LEFT JOIN %s AS h ON h.customer_id = cu.customer_id
ORDER BY cu.name, cu.customer_id`, s.q.table("customers"), s.q.table("customer_health")))
	if err != nil {
		return nil, err
	}
	out := make([]CustomerSummary, 0, len(rows))
	for _, r := range rows {
		out = append(out, CustomerSummary{Customer: customerOf(r), HealthScore: r.optFloat("health_score"),
			HealthBand: r.str("health_band"), CallsTotal: r.int("calls_total"), LastCallAt: r.time("last_call_at")})
	}
	return out, nil
}

// customer answers one customer, ErrNotFound when the list has none.
func (s *Store) customer(ctx context.Context, id string) (*Customer, error) {
	rows, err := s.query(ctx, "customer", fmt.Sprintf(`SELECT cu.customer_id, cu.name, cu.domains, cu.crm_account_id, cu.csm_name, cu.csm_email
FROM %s AS cu WHERE cu.customer_id = %s`, s.q.table("customers"), s.q.str(id)))
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, notFoundf("customer %q is not in the customer list", id)
	}
	c := customerOf(rows[0])
	return &c, nil
}

// Health is a customer's health as of the last transform (model
// customer_health): the score, its band, the drivers that moved it from
// 100 and the inputs they were computed from. Drivers and inputs are read
// from whatever columns the model has, so a later model version's new
// drivers show without a change here.
type Health struct {
	Score   int64          `json:"score"`
	Band    string         `json:"band"` // green | amber | red
	AsOf    time.Time      `json:"as_of"`
	Drivers []Driver       `json:"drivers"`
	Inputs  map[string]any `json:"inputs"`
}

// Driver is one term of the health score: a penalty (negative points) or
// a bonus (positive).
type Driver struct {
	Name   string  `json:"name"`
	Column string  `json:"column"`
	Points float64 `json:"points"`
	About  string  `json:"about,omitempty"`
}

// driverAbout explains the drivers customer_health has today (see
// transforms/README.md for the formula).
var driverAbout = map[string]string{
	"recency":    "days since the last call, past the grace period",
	"cadence":    "few calls in the last 30 days, against the target and the portfolio",
	"talk_share": "the customer's share of talk time, against the target and the portfolio",
	"competitor": "share of calls naming a competitor, against the portfolio",
	"risk":       "share of calls with a risk or objection, against the portfolio",
	"overdue":    "overdue tasks not followed up, against the portfolio",
	"bonus":      "share of calls with next steps agreed, against the portfolio",
}

// healthIdentity are customer_health columns that are neither a driver
// nor an input.
var healthIdentity = map[string]bool{"customer_id": true, "customer_name": true, "csm_email": true, "csm_name": true,
	"as_of": true, "health_score": true, "health_band": true}

func healthOf(r row) *Health {
	h := &Health{Score: r.int("health_score"), Band: r.str("health_band"), AsOf: r.time("as_of"),
		Drivers: []Driver{}, Inputs: map[string]any{}}
	for col, v := range r {
		switch {
		case healthIdentity[col]:
		case strings.HasPrefix(col, "penalty_"):
			name := strings.TrimPrefix(col, "penalty_")
			f, _ := toFloat(v)
			h.Drivers = append(h.Drivers, Driver{Name: name, Column: col, Points: 0 - f, About: driverAbout[name]})
		case strings.HasPrefix(col, "bonus"):
			name := col
			f, _ := toFloat(v)
			h.Drivers = append(h.Drivers, Driver{Name: name, Column: col, Points: f, About: driverAbout[name]})
		default:
			h.Inputs[col] = jsonValue(v)
		}
	}
	sort.Slice(h.Drivers, func(i, j int) bool {
		a, b := math.Abs(h.Drivers[i].Points), math.Abs(h.Drivers[j].Points)
		if a != b {
			return a > b
		}
		return h.Drivers[i].Column < h.Drivers[j].Column
	})
	return h
}

// HealthWeek is one week of customer_health_weekly.
type HealthWeek struct {
	WeekStart    string `json:"week_start"`
	Score        int64  `json:"score"`
	Band         string `json:"band"`
	CallsInWeek  int64  `json:"calls_in_week"`
	CallsLast30d int64  `json:"calls_last_30d"`
}

// TrendPoint is a week's mentions of a signal category (tracker_trends).
type TrendPoint struct {
	WeekStart string `json:"week_start"`
	Category  string `json:"category"`
	Mentions  int64  `json:"mentions"`
	Calls     int64  `json:"calls"`
	Trackers  string `json:"trackers,omitempty"`
}

// CustomerView is everything the customer page and endpoint show.
type CustomerView struct {
	Customer       Customer     `json:"customer"`
	Health         *Health      `json:"health"` // null: no calls yet
	HealthWeekly   []HealthWeek `json:"health_weekly"`
	TrackerTrends  []TrendPoint `json:"tracker_trends"`
	Calls          []Meeting    `json:"calls"` // the newest
	CallsTotal     int64        `json:"calls_total"`
	OpenTasks      []Task       `json:"open_tasks"` // actionable (open, overdue), soonest due first
	OpenTasksTotal int64        `json:"open_tasks_total"`
	// TasksByStatus counts all the customer's tasks by status (open,
	// overdue, followed_up, stale), the ones not to act on included.
	TasksByStatus map[string]int64 `json:"tasks_by_status"`
}

// Limits of the customer view.
const (
	customerCalls = 20
	MaxOpenTasks  = 50
	customerWeeks = 52
)

// customerView answers the customer page.
func (s *Store) customerView(ctx context.Context, id string) (*CustomerView, error) {
	c, err := s.customer(ctx, id)
	if err != nil {
		return nil, err
	}
	q := s.q
	v := &CustomerView{Customer: *c, HealthWeekly: []HealthWeek{}, TrackerTrends: []TrendPoint{}}
	health, err := s.query(ctx, "health", fmt.Sprintf("SELECT * FROM %s AS h WHERE h.customer_id = %s", q.table("customer_health"), q.str(id)))
	if err != nil {
		return nil, err
	}
	if len(health) > 0 {
		v.Health = healthOf(health[0])
	}
	weeks, err := s.query(ctx, "health weekly", fmt.Sprintf(`SELECT h.week_start, h.health_score, h.health_band, h.calls_in_week, h.calls_last_30d
FROM %s AS h WHERE h.customer_id = %s
ORDER BY h.week_start DESC LIMIT %d`, q.table("customer_health_weekly"), q.str(id), customerWeeks))
	if err != nil {
		return nil, err
	}
	for i := len(weeks) - 1; i >= 0; i-- {
		w := weeks[i]
		v.HealthWeekly = append(v.HealthWeekly, HealthWeek{WeekStart: w.date("week_start"), Score: w.int("health_score"),
			Band: w.str("health_band"), CallsInWeek: w.int("calls_in_week"), CallsLast30d: w.int("calls_last_30d")})
	}
	if v.TrackerTrends, err = s.trackerTrends(ctx, id); err != nil {
		return nil, err
	}
	page, err := s.meetings(ctx, MeetingFilter{CustomerID: id, Page: 1, PageSize: customerCalls})
	if err != nil {
		return nil, err
	}
	v.Calls, v.CallsTotal = page.Meetings, page.Total
	if v.OpenTasks, v.OpenTasksTotal, err = s.tasks(ctx, "customer_id", id, true, MaxOpenTasks); err != nil {
		return nil, err
	}
	byStatus, err := s.query(ctx, "tasks by status", fmt.Sprintf("SELECT t.status, COUNT(*) AS n FROM %s AS t WHERE t.customer_id = %s GROUP BY t.status",
		q.table("customer_tasks"), q.str(id)))
	if err != nil {
		return nil, err
	}
	v.TasksByStatus = map[string]int64{}
	for _, r := range byStatus {
		v.TasksByStatus[r.str("status")] = r.int("n")
	}
	return v, nil
}

// trackerTrends answers a customer's weekly mentions per signal category
// over its last customerWeeks weeks, oldest first.
func (s *Store) trackerTrends(ctx context.Context, id string) ([]TrendPoint, error) {
	q := s.q
	rows, err := s.query(ctx, "tracker trends", fmt.Sprintf(`SELECT t.week_start, t.category, t.mentions, t.calls, t.trackers
FROM %s AS t WHERE t.customer_id = %s
ORDER BY t.week_start, t.category`, q.table("tracker_trends"), q.str(id)))
	if err != nil {
		return nil, err
	}
	out := []TrendPoint{}
	if len(rows) == 0 {
		return out, nil
	}
	first := rows[len(rows)-1].time("week_start").AddDate(0, 0, -7*(customerWeeks-1))
	for _, r := range rows {
		if r.time("week_start").Before(first) {
			continue
		}
		out = append(out, TrendPoint{WeekStart: r.date("week_start"), Category: r.str("category"), Mentions: r.int("mentions"),
			Calls: r.int("calls"), Trackers: r.str("trackers")})
	}
	return out, nil
}

// Trending is how often a tracker fired for a customer recently compared
// with the period before.
type Trending struct {
	Tracker     string `json:"tracker"`
	Category    string `json:"category"`
	Recent      int64  `json:"recent_mentions"`
	Previous    int64  `json:"previous_mentions"`
	RecentCalls int64  `json:"recent_calls"`
	Change      int64  `json:"change"`
	Direction   string `json:"direction"` // new | up | down | flat | gone
}

// Insights is the insights panel of a customer.
type Insights struct {
	Customer Customer `json:"customer"`
	// The recent period is (PeriodEnd - TrendDays, PeriodEnd], compared
	// with the TrendDays before it. PeriodEnd is the as-of time of the
	// last transform (customer_health), else the newest call.
	PeriodEnd          time.Time  `json:"period_end"`
	TrendDays          int        `json:"trend_days"`
	Trending           []Trending `json:"trending"`
	PendingActionItems []Task     `json:"pending_action_items"` // open or overdue, soonest due first
	PendingTotal       int64      `json:"pending_total"`
	// Momentum is the customer's last MomentumWeeks weeks of
	// customer_momentum, oldest first, to the week of the last transform.
	Momentum []MomentumWeek `json:"momentum"`
}

// MomentumWeek is one week of deal and relationship momentum (model
// customer_momentum; README.md, "Momentum").
type MomentumWeek struct {
	WeekStart string `json:"week_start"`
	// Points is the week's momentum points; Score the sum over the week
	// and the 3 before, Previous the 4 weeks before those; Trend is
	// rising, falling, steady or stalled.
	Points   int64  `json:"points"`
	Score    int64  `json:"score"`
	Previous int64  `json:"previous_score"`
	Trend    string `json:"trend"`
	// The deal as of the week's end and its stage moves in the week.
	OpportunityID    string `json:"opportunity_id,omitempty"`
	OpportunityName  string `json:"opportunity_name,omitempty"`
	DealStage        string `json:"deal_stage,omitempty"`
	NewOpportunities int64  `json:"new_opportunities"`
	StageChanges     int64  `json:"deal_stage_changes"`
	StageAdvances    int64  `json:"deal_stage_advances"`
	StageSetbacks    int64  `json:"deal_stage_setbacks"`
	// What the week's calls and touchpoints held.
	Calls             int64 `json:"calls"`
	Emails            int64 `json:"emails"`
	OtherTouchpoints  int64 `json:"other_touchpoints"`
	NextStepCalls     int64 `json:"next_step_calls"`
	TasksCreated      int64 `json:"tasks_created"`
	PricingCalls      int64 `json:"pricing_calls"`
	PricingMentions   int64 `json:"pricing_mentions"`
	ObjectionCalls    int64 `json:"objection_calls"`
	ObjectionMentions int64 `json:"objection_mentions"`
	// Qualification coverage (covered ÷ the framework's fields); null
	// when no sales qualification is synced for the customer.
	QualificationFramework string   `json:"qualification_framework,omitempty"`
	QualificationCoverage  *float64 `json:"qualification_coverage"`
}

// Limits of the insights panel.
const (
	trendDays       = 28
	MaxPendingItems = 100
	MomentumWeeks   = 12
)

// insights answers the insights panel of a customer.
func (s *Store) insights(ctx context.Context, id string) (*Insights, error) {
	c, err := s.customer(ctx, id)
	if err != nil {
		return nil, err
	}
	q := s.q
	in := &Insights{Customer: *c, TrendDays: trendDays, Trending: []Trending{}}
	ends, err := s.query(ctx, "insights period", fmt.Sprintf("SELECT (SELECT MAX(h.as_of) FROM %s AS h) AS as_of, (SELECT MAX(c.started_at) FROM %s AS c) AS last_call",
		q.table("customer_health"), q.table("customer_calls")))
	if err != nil {
		return nil, err
	}
	if len(ends) == 1 {
		in.PeriodEnd = ends[0].time("as_of")
		if in.PeriodEnd.IsZero() {
			in.PeriodEnd = ends[0].time("last_call")
		}
	}
	if !in.PeriodEnd.IsZero() {
		mid := in.PeriodEnd.Add(-trendDays * 24 * time.Hour)
		start := mid.Add(-trendDays * 24 * time.Hour)
		rows, err := s.query(ctx, "trending", fmt.Sprintf(`SELECT s.tracker_name, s.category,
  SUM(CASE WHEN c.started_at > %[4]s THEN s.mentions ELSE 0 END) AS recent,
  SUM(CASE WHEN c.started_at <= %[4]s THEN s.mentions ELSE 0 END) AS previous,
  COUNT(DISTINCT CASE WHEN c.started_at > %[4]s THEN s.call_id END) AS recent_calls
FROM %[1]s AS s JOIN %[2]s AS c ON c.call_id = s.call_id
WHERE c.customer_id = %[3]s AND c.started_at > %[5]s AND c.started_at <= %[6]s
GROUP BY s.tracker_name, s.category`, q.table("int_call_signals"), q.table("customer_calls"), q.str(id),
			q.timestamp(mid), q.timestamp(start), q.timestamp(in.PeriodEnd)))
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			t := Trending{Tracker: r.str("tracker_name"), Category: r.str("category"), Recent: r.int("recent"),
				Previous: r.int("previous"), RecentCalls: r.int("recent_calls")}
			t.Change = t.Recent - t.Previous
			switch {
			case t.Previous == 0 && t.Recent > 0:
				t.Direction = "new"
			case t.Recent == 0 && t.Previous > 0:
				t.Direction = "gone"
			case t.Change > 0:
				t.Direction = "up"
			case t.Change < 0:
				t.Direction = "down"
			default:
				t.Direction = "flat"
			}
			in.Trending = append(in.Trending, t)
		}
		sort.Slice(in.Trending, func(i, j int) bool {
			a, b := in.Trending[i], in.Trending[j]
			if a.Recent != b.Recent {
				return a.Recent > b.Recent
			}
			if a.Change != b.Change {
				return a.Change > b.Change
			}
			return a.Tracker < b.Tracker
		})
	}
	if in.PendingActionItems, in.PendingTotal, err = s.tasks(ctx, "customer_id", id, true, MaxPendingItems); err != nil {
		return nil, err
	}
	if in.Momentum, err = s.momentum(ctx, id); err != nil {
		return nil, err
	}
	return in, nil
}

// momentum answers a customer's last MomentumWeeks weeks of momentum,
// oldest first.
func (s *Store) momentum(ctx context.Context, id string) ([]MomentumWeek, error) {
	q := s.q
	rows, err := s.query(ctx, "momentum", fmt.Sprintf(`SELECT m.week_start, m.momentum_points, m.momentum_4w, m.momentum_prev_4w, m.momentum_trend,
  m.opportunity_id, m.opportunity_name, m.deal_stage, m.new_opportunities, m.deal_stage_changes, m.deal_stage_advances,
  m.deal_stage_setbacks, m.calls, m.emails, m.other_touchpoints, m.next_step_calls, m.tasks_created, m.pricing_calls,
  m.pricing_mentions, m.objection_calls, m.objection_mentions, m.qualification_framework, m.qualification_coverage
FROM %s AS m WHERE m.customer_id = %s
ORDER BY m.week_start DESC LIMIT %d`, q.table("customer_momentum"), q.str(id), MomentumWeeks))
	if err != nil {
		return nil, err
	}
	out := make([]MomentumWeek, 0, len(rows))
	for i := len(rows) - 1; i >= 0; i-- {
		r := rows[i]
		out = append(out, MomentumWeek{WeekStart: r.date("week_start"), Points: r.int("momentum_points"), Score: r.int("momentum_4w"),
			Previous: r.int("momentum_prev_4w"), Trend: r.str("momentum_trend"), OpportunityID: r.str("opportunity_id"),
			OpportunityName: r.str("opportunity_name"), DealStage: r.str("deal_stage"), NewOpportunities: r.int("new_opportunities"),
			StageChanges: r.int("deal_stage_changes"), StageAdvances: r.int("deal_stage_advances"), StageSetbacks: r.int("deal_stage_setbacks"),
			Calls: r.int("calls"), Emails: r.int("emails"), OtherTouchpoints: r.int("other_touchpoints"), NextStepCalls: r.int("next_step_calls"),
			TasksCreated: r.int("tasks_created"), PricingCalls: r.int("pricing_calls"), PricingMentions: r.int("pricing_mentions"),
			ObjectionCalls: r.int("objection_calls"), ObjectionMentions: r.int("objection_mentions"),
			QualificationFramework: r.str("qualification_framework"), QualificationCoverage: r.optFloat("qualification_coverage")})
	}
	return out, nil
}
