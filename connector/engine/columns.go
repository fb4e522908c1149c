package engine

// The column handles of every stream, resolved against its schema at
// start-up (bindColumns): rows.go writes through them.

var colCalls struct {
	CallID                   StrCol   `col:"call_id"`
	EngagementType           StrCol   `col:"engagement_type"`
	Title                    StrCol   `col:"title"`
	StartedAt                TimeCol  `col:"started_at"`
	DurationSeconds          FloatCol `col:"duration_seconds"`
	Language                 StrCol   `col:"language"`
	NoShow                   BoolCol  `col:"no_show"`
	ProcessingState          StrCol   `col:"processing_state"`
	Compliance               StrCol   `col:"compliance"`
	Initiator                StrCol   `col:"initiator"`
	DispositionConnected     BoolCol  `col:"disposition_connected"`
	DispositionVoicemail     BoolCol  `col:"disposition_voicemail"`
	DispositionGatekeeper    BoolCol  `col:"disposition_gatekeeper"`
	DispositionTree          BoolCol  `col:"disposition_tree"`
	ConversationStatus       StrCol   `col:"conversation_status"`
	TranscriptStatus         StrCol   `col:"transcript_status"`
	AccountID                StrCol   `col:"account_id"`
	AccountName              StrCol   `col:"account_name"`
	AccountType              StrCol   `col:"account_type"`
	AccountZICompanyID       StrCol   `col:"account_zi_company_id"`
	OpportunityID            StrCol   `col:"opportunity_id"`
	OpportunityName          StrCol   `col:"opportunity_name"`
	DealStage                StrCol   `col:"deal_stage"`
	DealAmount               FloatCol `col:"deal_amount"`
	DealCloseDate            TimeCol  `col:"deal_close_date"`
	OwnerUserID              IntCol   `col:"owner_user_id"`
	OwnerName                StrCol   `col:"owner_name"`
	OwnerEmail               StrCol   `col:"owner_email"`
	URL                      StrCol   `col:"url"`
	Summary                  StrCol   `col:"summary"`
	SummaryError             StrCol   `col:"summary_error"`
	HasMeetingSummary        BoolCol  `col:"has_meeting_summary"`
	Recap                    StrsCol  `col:"recap"`
	NumCustomerQuestions     IntCol   `col:"num_customer_questions"`
	NumEngagingQuestions     IntCol   `col:"num_engaging_questions"`
	RecordingStartedAt       TimeCol  `col:"recording_started_at"`
	RecordingDurationSeconds FloatCol `col:"recording_duration_seconds"`
	UtteranceCount           IntCol   `col:"utterance_count"`
	TranscriptTruncated      BoolCol  `col:"transcript_truncated"`
	CreatedAt                TimeCol  `col:"created_at"`
	ModifiedAt               TimeCol  `col:"modified_at"`
	ChildStreams             StrsCol  `col:"_child_streams"`
	Extra                    StrCol   `col:"_extra"`
}

var colParticipants struct {
	CallID          StrCol  `col:"call_id"`
	ParticipantKey  StrCol  `col:"participant_key"`
	PersonID        IntCol  `col:"person_id"`
	UserID          IntCol  `col:"user_id"`
	Name            StrCol  `col:"name"`
	Email           StrCol  `col:"email"`
	EmailDomain     StrCol  `col:"email_domain"`
	Title           StrCol  `col:"title"`
	CompanyName     StrCol  `col:"company_name"`
	ParticipantType StrCol  `col:"participant_type"`
	IsRep           BoolCol `col:"is_rep"`
	IsMyTeam        BoolCol `col:"is_my_team"`
	Extra           StrCol  `col:"_extra"`
}

var colUtt struct {
	CallID          StrCol   `col:"call_id"`
	UtteranceIndex  IntCol   `col:"utterance_index"`
	UtteranceID     StrCol   `col:"utterance_id"`
	SpeakerID       IntCol   `col:"speaker_id"`
	SpeakerName     StrCol   `col:"speaker_name"`
	SpeakerType     StrCol   `col:"speaker_type"`
	StartSeconds    FloatCol `col:"start_seconds"`
	DurationSeconds FloatCol `col:"duration_seconds"`
	SpokenAt        TimeCol  `col:"spoken_at"`
	WordCount       IntCol   `col:"word_count"`
	Text            StrCol   `col:"text"`
	Engaging        BoolCol  `col:"engaging"`
	TextTruncated   BoolCol  `col:"text_truncated"`
	Extra           StrCol   `col:"_extra"`
}

var colSegments struct {
	CallID              StrCol   `col:"call_id"`
	ClusterID           IntCol   `col:"cluster_id"`
	RangeIndex          IntCol   `col:"range_index"`
	SpeakerName         StrCol   `col:"speaker_name"`
	SpeakerType         StrCol   `col:"speaker_type"`
	MatchMethod         StrCol   `col:"match_method"`
	ParticipantPersonID IntCol   `col:"participant_person_id"`
	UserID              IntCol   `col:"user_id"`
	StartSeconds        FloatCol `col:"start_seconds"`
	LengthSeconds       FloatCol `col:"length_seconds"`
	TalkTimeSeconds     FloatCol `col:"talk_time_seconds"`
	Extra               StrCol   `col:"_extra"`
}

var colTrackers struct {
	CallID         StrCol `col:"call_id"`
	TrackerName    StrCol `col:"tracker_name"`
	TrackerID      StrCol `col:"tracker_id"`
	TrackerType    StrCol `col:"tracker_type"`
	MatchCount     IntCol `col:"match_count"`
	TrackerOwnerID IntCol `col:"tracker_owner_id"`
	TrackerSource  StrCol `col:"tracker_source"`
	Extra          StrCol `col:"_extra"`
}

var colMentions struct {
	CallID         StrCol `col:"call_id"`
	TrackerID      StrCol `col:"tracker_id"`
	UtteranceIndex IntCol `col:"utterance_index"`
	MentionOffset  IntCol `col:"mention_offset"`
	TrackerName    StrCol `col:"tracker_name"`
	TrackerType    StrCol `col:"tracker_type"`
	Extra          StrCol `col:"_extra"`
}

var colItems struct {
	CallID                StrCol   `col:"call_id"`
	ItemIndex             IntCol   `col:"item_index"`
	Text                  StrCol   `col:"text"`
	Source                StrCol   `col:"source"`
	OwnerHint             StrCol   `col:"owner_hint"`
	DueHint               StrCol   `col:"due_hint"`
	UtteranceIndex        IntCol   `col:"utterance_index"`
	UtteranceStartSeconds FloatCol `col:"utterance_start_seconds"`
	Extra                 StrCol   `col:"_extra"`
}

var colMetrics struct {
	CallID     StrCol   `col:"call_id"`
	MetricName StrCol   `col:"metric_name"`
	Value      FloatCol `col:"value"`
	Source     StrCol   `col:"source"`
	Extra      StrCol   `col:"_extra"`
}

var colQual struct {
	CallID                      StrCol  `col:"call_id"`
	Section                     StrCol  `col:"section"`
	FieldID                     StrCol  `col:"field_id"`
	FieldName                   StrCol  `col:"field_name"`
	Framework                   StrCol  `col:"framework"`
	ChangeType                  StrCol  `col:"change_type"`
	NewValue                    StrCol  `col:"new_value"`
	PreviousValue               StrCol  `col:"previous_value"`
	SupportingQuote             StrCol  `col:"supporting_quote"`
	AnalysisID                  StrCol  `col:"analysis_id"`
	GeneratedAt                 TimeCol `col:"generated_at"`
	UserID                      IntCol  `col:"user_id"`
	ChorusCustomerID            IntCol  `col:"chorus_customer_id"`
	OpportunityID               StrCol  `col:"opportunity_id"`
	ConversationDurationSeconds IntCol  `col:"conversation_duration_seconds"`
	Extra                       StrCol  `col:"_extra"`
}

var colEng struct {
	EngagementID          StrCol   `col:"engagement_id"`
	EngagementType        StrCol   `col:"engagement_type"`
	Subject               StrCol   `col:"subject"`
	StartedAt             TimeCol  `col:"started_at"`
	DurationSeconds       FloatCol `col:"duration_seconds"`
	Language              StrCol   `col:"language"`
	NoShow                BoolCol  `col:"no_show"`
	ProcessingState       StrCol   `col:"processing_state"`
	Compliance            StrCol   `col:"compliance"`
	Initiator             StrCol   `col:"initiator"`
	DispositionConnected  BoolCol  `col:"disposition_connected"`
	DispositionVoicemail  BoolCol  `col:"disposition_voicemail"`
	DispositionGatekeeper BoolCol  `col:"disposition_gatekeeper"`
	DispositionTree       BoolCol  `col:"disposition_tree"`
	AccountID             StrCol   `col:"account_id"`
	AccountName           StrCol   `col:"account_name"`
	OpportunityID         StrCol   `col:"opportunity_id"`
	OpportunityName       StrCol   `col:"opportunity_name"`
	OwnerUserID           IntCol   `col:"owner_user_id"`
	OwnerName             StrCol   `col:"owner_name"`
	OwnerEmail            StrCol   `col:"owner_email"`
	URL                   StrCol   `col:"url"`
	Summary               StrCol   `col:"summary"`
	ActionItems           StrsCol  `col:"action_items"`
	NumCustomerQuestions  IntCol   `col:"num_customer_questions"`
	NumEngagingQuestions  IntCol   `col:"num_engaging_questions"`
	ParticipantEmails     StrsCol  `col:"participant_emails"`
	Participants          StrCol   `col:"participants"`
	TrackerMatches        StrCol   `col:"tracker_matches"`
	Extra                 StrCol   `col:"_extra"`
}

var colUsers struct {
	UserID        IntCol  `col:"user_id"`
	Name          StrCol  `col:"name"`
	FirstName     StrCol  `col:"first_name"`
	LastName      StrCol  `col:"last_name"`
	Email         StrCol  `col:"email"`
	PersonID      IntCol  `col:"person_id"`
	ManagerID     IntCol  `col:"manager_id"`
	Role          StrCol  `col:"role"`
	Title         StrCol  `col:"title"`
	LicenseType   StrCol  `col:"license_type"`
	TeamIDs       IntsCol `col:"team_ids"`
	PrimaryTeamID IntCol  `col:"primary_team_id"`
	CreatedOn     TimeCol `col:"created_on"`
	Invalidated   BoolCol `col:"invalidated"`
	Active        BoolCol `col:"active"`
	Extra         StrCol  `col:"_extra"`
}

var colTeams struct {
	TeamID        StrCol  `col:"team_id"`
	Name          StrCol  `col:"name"`
	ManagerUserID IntCol  `col:"manager_user_id"`
	ParentTeamID  StrCol  `col:"parent_team_id"`
	UserIDs       IntsCol `col:"user_ids"`
	Extra         StrCol  `col:"_extra"`
}

var colUserTeams struct {
	UserID    IntCol  `col:"user_id"`
	TeamID    StrCol  `col:"team_id"`
	IsPrimary BoolCol `col:"is_primary"`
	Extra     StrCol  `col:"_extra"`
}

var colScorecards struct {
	ScorecardID           StrCol   `col:"scorecard_id"`
	CallID                StrCol   `col:"call_id"`
	InitiativeID          IntCol   `col:"initiative_id"`
	InitiativeName        StrCol   `col:"initiative_name"`
	InitiativeDescription StrCol   `col:"initiative_description"`
	InitiativeURL         StrCol   `col:"initiative_url"`
	RecipientUserID       IntCol   `col:"recipient_user_id"`
	RecipientPersonID     IntCol   `col:"recipient_person_id"`
	RecipientName         StrCol   `col:"recipient_name"`
	ReviewerUserID        IntCol   `col:"reviewer_user_id"`
	ReviewerPersonID      IntCol   `col:"reviewer_person_id"`
	ReviewerName          StrCol   `col:"reviewer_name"`
	SubmittedAt           TimeCol  `col:"submitted_at"`
	Seen                  BoolCol  `col:"seen"`
	URL                   StrCol   `col:"url"`
	AnswerCount           IntCol   `col:"answer_count"`
	MeanScore             FloatCol `col:"mean_score"`
	Extra                 StrCol   `col:"_extra"`
}

var colAnswers struct {
	ScorecardID        StrCol  `col:"scorecard_id"`
	AnswerIndex        IntCol  `col:"answer_index"`
	CallID             StrCol  `col:"call_id"`
	SubmittedAt        TimeCol `col:"submitted_at"`
	QuestionID         IntCol  `col:"question_id"`
	QuestionText       StrCol  `col:"question_text"`
	Score              IntCol  `col:"score"`
	CommentText        StrCol  `col:"comment_text"`
	CommentTimeSeconds IntCol  `col:"comment_time_seconds"`
	Extra              StrCol  `col:"_extra"`
}

func init() {
	bindColumns(sCalls, &colCalls)
	bindColumns(sParticipants, &colParticipants)
	bindColumns(sUtterances, &colUtt)
	bindColumns(sTalkSegments, &colSegments)
	bindColumns(sTrackers, &colTrackers)
	bindColumns(sTrackerMentions, &colMentions)
	bindColumns(sActionItems, &colItems)
	bindColumns(sCallMetrics, &colMetrics)
	bindColumns(sSalesQualifications, &colQual)
	bindColumns(sEngagements, &colEng)
	bindColumns(sUsers, &colUsers)
	bindColumns(sTeams, &colTeams)
	bindColumns(sUserTeams, &colUserTeams)
	bindColumns(sScorecards, &colScorecards)
	bindColumns(sScorecardAnswers, &colAnswers)
}
