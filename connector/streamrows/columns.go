package streamrows

// The column handles of every stream, resolved against its schema at
// start-up (bindColumns): rows.go writes through them.

var colCalls struct {
	CallID                   strCol   `col:"call_id"`
	EngagementType           strCol   `col:"engagement_type"`
	Title                    strCol   `col:"title"`
	StartedAt                timeCol  `col:"started_at"`
	DurationSeconds          floatCol `col:"duration_seconds"`
	Language                 strCol   `col:"language"`
	NoShow                   boolCol  `col:"no_show"`
	ProcessingState          strCol   `col:"processing_state"`
	Compliance               strCol   `col:"compliance"`
	Initiator                strCol   `col:"initiator"`
	DispositionConnected     boolCol  `col:"disposition_connected"`
	DispositionVoicemail     boolCol  `col:"disposition_voicemail"`
	DispositionGatekeeper    boolCol  `col:"disposition_gatekeeper"`
	DispositionTree          boolCol  `col:"disposition_tree"`
	ConversationStatus       strCol   `col:"conversation_status"`
	TranscriptStatus         strCol   `col:"transcript_status"`
	AccountID                strCol   `col:"account_id"`
	AccountName              strCol   `col:"account_name"`
	AccountType              strCol   `col:"account_type"`
	AccountZICompanyID       strCol   `col:"account_zi_company_id"`
	OpportunityID            strCol   `col:"opportunity_id"`
	OpportunityName          strCol   `col:"opportunity_name"`
	DealStage                strCol   `col:"deal_stage"`
	DealAmount               floatCol `col:"deal_amount"`
	DealCloseDate            timeCol  `col:"deal_close_date"`
	OwnerUserID              intCol   `col:"owner_user_id"`
	OwnerName                strCol   `col:"owner_name"`
	OwnerEmail               strCol   `col:"owner_email"`
	URL                      strCol   `col:"url"`
	Summary                  strCol   `col:"summary"`
	SummaryError             strCol   `col:"summary_error"`
	HasMeetingSummary        boolCol  `col:"has_meeting_summary"`
	Recap                    strsCol  `col:"recap"`
	NumCustomerQuestions     intCol   `col:"num_customer_questions"`
	NumEngagingQuestions     intCol   `col:"num_engaging_questions"`
	RecordingStartedAt       timeCol  `col:"recording_started_at"`
	RecordingDurationSeconds floatCol `col:"recording_duration_seconds"`
	UtteranceCount           intCol   `col:"utterance_count"`
	TranscriptTruncated      boolCol  `col:"transcript_truncated"`
	CreatedAt                timeCol  `col:"created_at"`
	ModifiedAt               timeCol  `col:"modified_at"`
	ChildStreams             strsCol  `col:"_child_streams"`
	Extra                    strCol   `col:"_extra"`
}

var colParticipants struct {
	CallID          strCol  `col:"call_id"`
	ParticipantKey  strCol  `col:"participant_key"`
	PersonID        intCol  `col:"person_id"`
	UserID          intCol  `col:"user_id"`
	Name            strCol  `col:"name"`
	Email           strCol  `col:"email"`
	EmailDomain     strCol  `col:"email_domain"`
	Title           strCol  `col:"title"`
	CompanyName     strCol  `col:"company_name"`
	ParticipantType strCol  `col:"participant_type"`
	IsRep           boolCol `col:"is_rep"`
	IsMyTeam        boolCol `col:"is_my_team"`
	Extra           strCol  `col:"_extra"`
}

var colUtt struct {
	CallID          strCol   `col:"call_id"`
	UtteranceIndex  intCol   `col:"utterance_index"`
	UtteranceID     strCol   `col:"utterance_id"`
	SpeakerID       intCol   `col:"speaker_id"`
	SpeakerName     strCol   `col:"speaker_name"`
	SpeakerType     strCol   `col:"speaker_type"`
	StartSeconds    floatCol `col:"start_seconds"`
	DurationSeconds floatCol `col:"duration_seconds"`
	SpokenAt        timeCol  `col:"spoken_at"`
	WordCount       intCol   `col:"word_count"`
	Text            strCol   `col:"text"`
	Engaging        boolCol  `col:"engaging"`
	TextTruncated   boolCol  `col:"text_truncated"`
	Extra           strCol   `col:"_extra"`
}

var colSegments struct {
	CallID              strCol   `col:"call_id"`
	ClusterID           intCol   `col:"cluster_id"`
	RangeIndex          intCol   `col:"range_index"`
	SpeakerName         strCol   `col:"speaker_name"`
	SpeakerType         strCol   `col:"speaker_type"`
	MatchMethod         strCol   `col:"match_method"`
	ParticipantPersonID intCol   `col:"participant_person_id"`
	UserID              intCol   `col:"user_id"`
	StartSeconds        floatCol `col:"start_seconds"`
	LengthSeconds       floatCol `col:"length_seconds"`
	TalkTimeSeconds     floatCol `col:"talk_time_seconds"`
	Extra               strCol   `col:"_extra"`
}

var colTrackers struct {
	CallID         strCol `col:"call_id"`
	TrackerName    strCol `col:"tracker_name"`
	TrackerID      strCol `col:"tracker_id"`
	TrackerType    strCol `col:"tracker_type"`
	MatchCount     intCol `col:"match_count"`
	TrackerOwnerID intCol `col:"tracker_owner_id"`
	TrackerSource  strCol `col:"tracker_source"`
	Extra          strCol `col:"_extra"`
}

var colMentions struct {
	CallID         strCol `col:"call_id"`
	TrackerID      strCol `col:"tracker_id"`
	UtteranceIndex intCol `col:"utterance_index"`
	MentionOffset  intCol `col:"mention_offset"`
	TrackerName    strCol `col:"tracker_name"`
	TrackerType    strCol `col:"tracker_type"`
	Extra          strCol `col:"_extra"`
}

var colItems struct {
	CallID                strCol   `col:"call_id"`
	ItemIndex             intCol   `col:"item_index"`
	Text                  strCol   `col:"text"`
	Source                strCol   `col:"source"`
	OwnerHint             strCol   `col:"owner_hint"`
	DueHint               strCol   `col:"due_hint"`
	UtteranceIndex        intCol   `col:"utterance_index"`
	UtteranceStartSeconds floatCol `col:"utterance_start_seconds"`
	Extra                 strCol   `col:"_extra"`
}

var colMetrics struct {
	CallID     strCol   `col:"call_id"`
	MetricName strCol   `col:"metric_name"`
	Value      floatCol `col:"value"`
	Source     strCol   `col:"source"`
	Extra      strCol   `col:"_extra"`
}

var colQual struct {
	CallID                      strCol  `col:"call_id"`
	Section                     strCol  `col:"section"`
	FieldID                     strCol  `col:"field_id"`
	FieldName                   strCol  `col:"field_name"`
	Framework                   strCol  `col:"framework"`
	ChangeType                  strCol  `col:"change_type"`
	NewValue                    strCol  `col:"new_value"`
	PreviousValue               strCol  `col:"previous_value"`
	SupportingQuote             strCol  `col:"supporting_quote"`
	AnalysisID                  strCol  `col:"analysis_id"`
	GeneratedAt                 timeCol `col:"generated_at"`
	UserID                      intCol  `col:"user_id"`
	ChorusCustomerID            intCol  `col:"chorus_customer_id"`
	OpportunityID               strCol  `col:"opportunity_id"`
	ConversationDurationSeconds intCol  `col:"conversation_duration_seconds"`
	Extra                       strCol  `col:"_extra"`
}

var colEng struct {
	EngagementID          strCol   `col:"engagement_id"`
	EngagementType        strCol   `col:"engagement_type"`
	Subject               strCol   `col:"subject"`
	StartedAt             timeCol  `col:"started_at"`
	DurationSeconds       floatCol `col:"duration_seconds"`
	Language              strCol   `col:"language"`
	NoShow                boolCol  `col:"no_show"`
	ProcessingState       strCol   `col:"processing_state"`
	Compliance            strCol   `col:"compliance"`
	Initiator             strCol   `col:"initiator"`
	DispositionConnected  boolCol  `col:"disposition_connected"`
	DispositionVoicemail  boolCol  `col:"disposition_voicemail"`
	DispositionGatekeeper boolCol  `col:"disposition_gatekeeper"`
	DispositionTree       boolCol  `col:"disposition_tree"`
	AccountID             strCol   `col:"account_id"`
	AccountName           strCol   `col:"account_name"`
	OpportunityID         strCol   `col:"opportunity_id"`
	OpportunityName       strCol   `col:"opportunity_name"`
	OwnerUserID           intCol   `col:"owner_user_id"`
	OwnerName             strCol   `col:"owner_name"`
	OwnerEmail            strCol   `col:"owner_email"`
	URL                   strCol   `col:"url"`
	Summary               strCol   `col:"summary"`
	ActionItems           strsCol  `col:"action_items"`
	NumCustomerQuestions  intCol   `col:"num_customer_questions"`
	NumEngagingQuestions  intCol   `col:"num_engaging_questions"`
	ParticipantEmails     strsCol  `col:"participant_emails"`
	Participants          strCol   `col:"participants"`
	TrackerMatches        strCol   `col:"tracker_matches"`
	Extra                 strCol   `col:"_extra"`
}

var colUsers struct {
	UserID        intCol  `col:"user_id"`
	Name          strCol  `col:"name"`
	FirstName     strCol  `col:"first_name"`
	LastName      strCol  `col:"last_name"`
	Email         strCol  `col:"email"`
	PersonID      intCol  `col:"person_id"`
	ManagerID     intCol  `col:"manager_id"`
	Role          strCol  `col:"role"`
	Title         strCol  `col:"title"`
	LicenseType   strCol  `col:"license_type"`
	TeamIDs       intsCol `col:"team_ids"`
	PrimaryTeamID intCol  `col:"primary_team_id"`
	CreatedOn     timeCol `col:"created_on"`
	Invalidated   boolCol `col:"invalidated"`
	Active        boolCol `col:"active"`
	Extra         strCol  `col:"_extra"`
}

var colTeams struct {
	TeamID        strCol  `col:"team_id"`
	Name          strCol  `col:"name"`
	ManagerUserID intCol  `col:"manager_user_id"`
	ParentTeamID  strCol  `col:"parent_team_id"`
	UserIDs       intsCol `col:"user_ids"`
	Extra         strCol  `col:"_extra"`
}

var colUserTeams struct {
	UserID    intCol  `col:"user_id"`
	TeamID    strCol  `col:"team_id"`
	IsPrimary boolCol `col:"is_primary"`
	Extra     strCol  `col:"_extra"`
}

var colScorecards struct {
	ScorecardID           strCol   `col:"scorecard_id"`
	CallID                strCol   `col:"call_id"`
	InitiativeID          intCol   `col:"initiative_id"`
	InitiativeName        strCol   `col:"initiative_name"`
	InitiativeDescription strCol   `col:"initiative_description"`
	InitiativeURL         strCol   `col:"initiative_url"`
	RecipientUserID       intCol   `col:"recipient_user_id"`
	RecipientPersonID     intCol   `col:"recipient_person_id"`
	RecipientName         strCol   `col:"recipient_name"`
	ReviewerUserID        intCol   `col:"reviewer_user_id"`
	ReviewerPersonID      intCol   `col:"reviewer_person_id"`
	ReviewerName          strCol   `col:"reviewer_name"`
	SubmittedAt           timeCol  `col:"submitted_at"`
	Seen                  boolCol  `col:"seen"`
	URL                   strCol   `col:"url"`
	AnswerCount           intCol   `col:"answer_count"`
	MeanScore             floatCol `col:"mean_score"`
	Extra                 strCol   `col:"_extra"`
}

var colAnswers struct {
	ScorecardID        strCol  `col:"scorecard_id"`
	AnswerIndex        intCol  `col:"answer_index"`
	CallID             strCol  `col:"call_id"`
	SubmittedAt        timeCol `col:"submitted_at"`
	QuestionID         intCol  `col:"question_id"`
	QuestionText       strCol  `col:"question_text"`
	Score              intCol  `col:"score"`
	CommentText        strCol  `col:"comment_text"`
	CommentTimeSeconds intCol  `col:"comment_time_seconds"`
	Extra              strCol  `col:"_extra"`
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
