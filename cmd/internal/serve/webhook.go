package serve

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
)

// WebhookSecretHeader is the request header that must hold the webhook's
// shared secret (Options.WebhookSecret). Register the webhook with Chorus
// (/v3/webhook) so that it sends this header.
const WebhookSecretHeader = "X-Chorus-Webhook-Secret"

// maxWebhookBody bounds a webhook body.
const maxWebhookBody = 64 << 10

// webhookAnswer is the webhook's 202 answer.
type webhookAnswer struct {
	Status       string `json:"status"` // queued | ignored
	EngagementID string `json:"engagement_id,omitempty"`
	Event        string `json:"event,omitempty"`
}

// POST /api/chorus/webhook: Chorus's recording_done event. The engagement
// id goes to the sync queue and the answer (202) does not wait for the
// sync.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	if s.queue == nil || s.opts.WebhookSecret == "" {
		writeError(w, http.StatusServiceUnavailable, "the webhook is off: serve needs a webhook secret and a warehouse it may sync into")
		return
	}
	h := sha256.Sum256([]byte(r.Header.Get(WebhookSecretHeader)))
	if subtle.ConstantTimeCompare(h[:], s.secret[:]) != 1 {
		writeError(w, http.StatusUnauthorized, "missing or wrong webhook secret (header "+WebhookSecretHeader+")")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is over %d bytes", maxWebhookBody))
			return
		}
		writeError(w, http.StatusBadRequest, "the body could not be read")
		return
	}
	id, event, err := engagementID(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if id == "" {
		s.log.Info("webhook: event ignored", "event", event)
		writeJSON(w, http.StatusAccepted, webhookAnswer{Status: "ignored", Event: event})
		return
	}
	s.queue.Enqueue(id)
	writeJSON(w, http.StatusAccepted, webhookAnswer{Status: "queued", EngagementID: id, Event: event})
}

// Where a webhook body may hold the engagement id. Chorus does not
// document the recording_done payload, so the common shapes are accepted:
//
//	{"engagement_id": "…"}                      (or engagementId)
//	{"id": "…"}                                 (a bare engagement)
//	{"data": {"engagement_id": "…"}}            (an event envelope; also
//	{"event": "recording_done", "data": {"id": "…"}}   payload, engagement,
//	                                             recording, conversation)
//
// An envelope's own top-level "id" names the event, not the engagement,
// so it is used only when the body has no nested object. An "event" (or
// event_type, eventType, event_name) other than recording_done is
// acknowledged and ignored. Anything else is refused.
var (
	idKeys       = []string{"engagement_id", "engagementId"}
	envelopeKeys = []string{"data", "payload", "engagement", "recording", "conversation"}
	eventKeys    = []string{"event", "event_type", "eventType", "event_name"}
	engagementRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`)
)

// webhookShapes is the refusal message.
const webhookShapes = `want a JSON object holding the engagement id as {"engagement_id": "…"}, {"id": "…"} or {"data": {"engagement_id": "…"}}`

// engagementID finds the engagement id of a webhook body; id is "" for an
// event to ignore (then event names it).
func engagementID(body []byte) (id, event string, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var top map[string]any
	if err := dec.Decode(&top); err != nil || top == nil {
		return "", "", errors.New("the body is not a JSON object: " + webhookShapes)
	}
	if dec.More() {
		return "", "", errors.New("the body holds more than one JSON value: " + webhookShapes)
	}
	var nested []map[string]any
	for _, k := range envelopeKeys {
		if m, ok := top[k].(map[string]any); ok {
			nested = append(nested, m)
		}
	}
	for _, m := range append([]map[string]any{top}, nested...) {
		for _, k := range eventKeys {
			if e, ok := m[k].(string); ok && event == "" {
				event = e
			}
		}
	}
	if event != "" && !isRecordingDone(event) {
		return "", event, nil
	}
	// The most specific key wins; two different values for it are refused.
	var found []any
	for _, m := range append([]map[string]any{top}, nested...) {
		for _, k := range idKeys {
			if v, ok := m[k]; ok {
				found = append(found, v)
			}
		}
	}
	if len(found) == 0 {
		for _, m := range nested {
			if v, ok := m["id"]; ok {
				found = append(found, v)
			}
		}
	}
	if len(found) == 0 && len(nested) == 0 {
		if v, ok := top["id"]; ok {
			found = append(found, v)
		}
	}
	if len(found) == 0 {
		return "", event, errors.New("no engagement id in the body: " + webhookShapes)
	}
	for _, v := range found {
		s, err := idString(v)
		if err != nil {
			return "", event, err
		}
		if id != "" && s != id {
			return "", event, fmt.Errorf("the body names two engagements (%q and %q): send one event per call", id, s)
		}
		id = s
	}
	return id, event, nil
}

// isRecordingDone accepts recording_done, recording.done, RecordingDone, …
func isRecordingDone(event string) bool {
	e := strings.NewReplacer("_", "", ".", "", "-", "", " ", "").Replace(strings.ToLower(event))
	return e == "recordingdone"
}

// idString reads an engagement id: a string or a whole number.
func idString(v any) (string, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = strings.TrimSpace(x)
	case json.Number:
		if _, err := x.Int64(); err != nil {
			return "", fmt.Errorf("engagement id %s is not a whole number or a string", x)
		}
		s = x.String()
	default:
		return "", fmt.Errorf("engagement id is a JSON %s; want a string", jsonKind(v))
	}
	if !engagementRe.MatchString(s) {
		return "", fmt.Errorf("engagement id %q is not an id (letters, digits, _ . : -; at most 128)", clipText(s, 40))
	}
	return s, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return "value"
}
