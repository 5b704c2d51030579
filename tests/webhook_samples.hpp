/* webhook_samples.hpp: the reference Cal.com webhook bodies
 * (shared/reference/calcom-webhook-samples/NAME.json, byte for byte: compact JSON,
 * no trailing newline) with the signatures its README lists for the secret
 * below. Generated from those files; do not reformat. Used by
 * test_webhook_sig.cpp and test_it_webhooks.cpp. */
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

namespace coach::testing {

inline const char* kSampleSecret = "whsec_coachmarket_test_2026";

struct WebhookSample {
  std::string name;        // file name without .json
  std::string body;        // exact bytes
  std::string signature;   // README: hex HMAC-SHA256(kSampleSecret, body)
  size_t bytes;            // README byte count
};

inline const std::vector<WebhookSample>& webhook_samples() {
  static const std::vector<WebhookSample> v = {
      {"BOOKING_CREATED",
         R"SAMPLE({"triggerEvent":"BOOKING_CREATED","createdAt":"2026-03-02T09:14:07.512Z","payload":{"bookerUrl":"https://app.cal.com","title":"Career coaching (60 min) between Maria Lopez and Sam Carter","startTime":)SAMPLE"
         R"SAMPLE("2026-03-10T15:00:00Z","endTime":"2026-03-10T16:00:00Z","type":"career-coaching-60","organizer":{"id":1042,"name":"Maria Lopez","email":"maria.lopez+clz8kq2vd0001mh08abcd1234@coachmarket.example","use)SAMPLE"
         R"SAMPLE(rname":"maria-lopez-clz8kq2vd0001mh08abcd1234-coachmarket","usernameInOrg":"maria-lopez-clz8kq2vd0001mh08abcd1234-coachmarket","timeZone":"Europe/Madrid","language":{"locale":"en"},"timeFormat":"HH:mm)SAMPLE"
         R"SAMPLE(","utcOffset":60},"attendees":[{"email":"sam.carter@client.example","name":"Sam Carter","firstName":"","lastName":"","timeZone":"America/New_York","language":{"locale":"en"},"utcOffset":-240}],"additi)SAMPLE"
         R"SAMPLE(onalNotes":"Preparing for a senior PM interview loop.","description":"Focused 1:1 career coaching session.","eventTypeId":5531,"hideCalendarNotes":false,"hideCalendarEventDetails":false,"hideOrganizer)SAMPLE"
         R"SAMPLE(Email":false,"schedulingType":null,"seatsPerTimeSlot":null,"seatsShowAttendees":true,"seatsShowAvailabilityCount":true,"customReplyToEmail":null,"disableRescheduling":false,"disableCancelling":false,")SAMPLE"
         R"SAMPLE(customInputs":{},"responses":{"name":{"label":"your_name","value":"Sam Carter","isHidden":false},"email":{"label":"email_address","value":"sam.carter@client.example","isHidden":false},"attendeePhoneNu)SAMPLE"
         R"SAMPLE(mber":{"label":"phone_number","isHidden":true},"location":{"label":"location","value":{"value":"integrations:zoom","optionValue":""},"isHidden":false},"title":{"label":"what_is_this_meeting_about","is)SAMPLE"
         R"SAMPLE(Hidden":true},"notes":{"label":"additional_notes","value":"Preparing for a senior PM interview loop.","isHidden":false},"guests":{"label":"additional_guests","value":[],"isHidden":false},"rescheduleRe)SAMPLE"
         R"SAMPLE(ason":{"label":"reason_for_reschedule","isHidden":false},"coaching-goal":{"label":"What do you want to work on?","value":"Mock behavioural interview","isHidden":false}},"userFieldsResponses":{"coachin)SAMPLE"
         R"SAMPLE(g-goal":{"label":"What do you want to work on?","value":"Mock behavioural interview","isHidden":false}},"location":"https://us06web.zoom.us/j/84512345678?pwd=Zk9vQ2xYb3R6dUhQeWdKc1N2a0F4dz09","destina)SAMPLE"
         R"SAMPLE(tionCalendar":null,"iCalUID":"Xk4pT8sWq2LmN6vR9cBd3F@Cal.com","iCalSequence":0,"requiresConfirmation":false,"oneTimePassword":null,"platformClientId":"clz8kq2vd0001mh08abcd1234","platformRescheduleUrl)SAMPLE"
         R"SAMPLE(":"https://coachmarket.example/sessions/reschedule","platformCancelUrl":"https://coachmarket.example/sessions/cancel","platformBookingUrl":"https://coachmarket.example/sessions/confirmed","organizatio)SAMPLE"
         R"SAMPLE(nId":7730,"hashedLink":null,"hideBranding":false,"uid":"hJ3mZ9qW2xKc7VnT5bRp1L","videoCallData":{"type":"zoom_video","id":"84512345678","password":"482913","url":"https://us06web.zoom.us/j/84512345678)SAMPLE"
         R"SAMPLE(?pwd=Zk9vQ2xYb3R6dUhQeWdKc1N2a0F4dz09"},"appsStatus":[{"appName":"Zoom Video","type":"zoom_video","success":1,"failures":0,"errors":[]}],"eventTitle":"Career coaching (60 min)","eventDescription":"Foc)SAMPLE"
         R"SAMPLE(used 1:1 career coaching session.","price":0,"currency":"usd","length":60,"bookingId":88213,"metadata":{"videoCallUrl":"https://us06web.zoom.us/j/84512345678?pwd=Zk9vQ2xYb3R6dUhQeWdKc1N2a0F4dz09","age)SAMPLE"
         R"SAMPLE(ntSessionId":"as_7f3e2c","platformClientId":"clz8kq2vd0001mh08abcd1234"},"status":"ACCEPTED"}})SAMPLE",
       "0ab9bc77cffa198ca60ffda9ebe46cb3f71afca367a685fd80d4e590c09f5bec", 3294},
      {"BOOKING_RESCHEDULED",
         R"SAMPLE({"triggerEvent":"BOOKING_RESCHEDULED","createdAt":"2026-03-09T18:02:44.091Z","payload":{"bookerUrl":"https://app.cal.com","title":"Career coaching (60 min) between Maria Lopez and Sam Carter","startTi)SAMPLE"
         R"SAMPLE(me":"2026-03-12T15:00:00Z","endTime":"2026-03-12T16:00:00Z","type":"career-coaching-60","organizer":{"id":1042,"name":"Maria Lopez","email":"maria.lopez+clz8kq2vd0001mh08abcd1234@coachmarket.example",)SAMPLE"
         R"SAMPLE("username":"maria-lopez-clz8kq2vd0001mh08abcd1234-coachmarket","usernameInOrg":"maria-lopez-clz8kq2vd0001mh08abcd1234-coachmarket","timeZone":"Europe/Madrid","language":{"locale":"en"},"timeFormat":"H)SAMPLE"
         R"SAMPLE(H:mm","utcOffset":60},"attendees":[{"email":"sam.carter@client.example","name":"Sam Carter","firstName":"","lastName":"","timeZone":"America/New_York","language":{"locale":"en"},"utcOffset":-240}],"ad)SAMPLE"
         R"SAMPLE(ditionalNotes":"Preparing for a senior PM interview loop.","description":"Focused 1:1 career coaching session.","eventTypeId":5531,"hideCalendarNotes":false,"hideCalendarEventDetails":false,"hideOrgan)SAMPLE"
         R"SAMPLE(izerEmail":false,"schedulingType":null,"seatsPerTimeSlot":null,"seatsShowAttendees":true,"seatsShowAvailabilityCount":true,"customReplyToEmail":null,"disableRescheduling":false,"disableCancelling":fal)SAMPLE"
         R"SAMPLE(se,"customInputs":{},"responses":{"name":{"label":"your_name","value":"Sam Carter","isHidden":false},"email":{"label":"email_address","value":"sam.carter@client.example","isHidden":false},"attendeePho)SAMPLE"
         R"SAMPLE(neNumber":{"label":"phone_number","isHidden":true},"location":{"label":"location","value":{"value":"integrations:zoom","optionValue":""},"isHidden":false},"title":{"label":"what_is_this_meeting_about")SAMPLE"
         R"SAMPLE(,"isHidden":true},"notes":{"label":"additional_notes","value":"Preparing for a senior PM interview loop.","isHidden":false},"guests":{"label":"additional_guests","value":[],"isHidden":false},"reschedu)SAMPLE"
         R"SAMPLE(leReason":{"label":"reason_for_reschedule","value":"Client has a conflicting interview","isHidden":false},"coaching-goal":{"label":"What do you want to work on?","value":"Mock behavioural interview",")SAMPLE"
         R"SAMPLE(isHidden":false}},"userFieldsResponses":{"coaching-goal":{"label":"What do you want to work on?","value":"Mock behavioural interview","isHidden":false}},"location":"https://us06web.zoom.us/j/845123456)SAMPLE"
         R"SAMPLE(78?pwd=Zk9vQ2xYb3R6dUhQeWdKc1N2a0F4dz09","destinationCalendar":null,"iCalUID":"Xk4pT8sWq2LmN6vR9cBd3F@Cal.com","iCalSequence":1,"requiresConfirmation":false,"oneTimePassword":null,"platformClientId":")SAMPLE"
         R"SAMPLE(clz8kq2vd0001mh08abcd1234","platformRescheduleUrl":"https://coachmarket.example/sessions/reschedule","platformCancelUrl":"https://coachmarket.example/sessions/cancel","platformBookingUrl":"https://coa)SAMPLE"
         R"SAMPLE(chmarket.example/sessions/confirmed","organizationId":7730,"hashedLink":null,"hideBranding":false,"uid":"Tq8wR2nV5mC1xZ7kL3pJ9s","rescheduledBy":"sam.carter@client.example","videoCallData":{"type":"zo)SAMPLE"
         R"SAMPLE(om_video","id":"84512345678","password":"482913","url":"https://us06web.zoom.us/j/84512345678?pwd=Zk9vQ2xYb3R6dUhQeWdKc1N2a0F4dz09"},"appsStatus":[{"appName":"Zoom Video","type":"zoom_video","success")SAMPLE"
         R"SAMPLE(:1,"failures":0,"errors":[]}],"eventTitle":"Career coaching (60 min)","eventDescription":"Focused 1:1 career coaching session.","price":0,"currency":"usd","length":60,"bookingId":88377,"rescheduleId":)SAMPLE"
         R"SAMPLE(88213,"rescheduleUid":"hJ3mZ9qW2xKc7VnT5bRp1L","rescheduleStartTime":"2026-03-10T15:00:00Z","rescheduleEndTime":"2026-03-10T16:00:00Z","metadata":{"videoCallUrl":"https://us06web.zoom.us/j/84512345678)SAMPLE"
         R"SAMPLE(?pwd=Zk9vQ2xYb3R6dUhQeWdKc1N2a0F4dz09","agentSessionId":"as_7f3e2c","platformClientId":"clz8kq2vd0001mh08abcd1234"},"status":"ACCEPTED"}})SAMPLE",
       "f420cf3230cbeec03b44b6dcc8315d6783950e8c5930961aa968384a15a1ef94", 3537},
      {"BOOKING_CANCELLED",
         R"SAMPLE({"triggerEvent":"BOOKING_CANCELLED","createdAt":"2026-03-11T08:30:12.345Z","payload":{"bookerUrl":"https://app.cal.com","title":"Career coaching (60 min) between Maria Lopez and Sam Carter","length":6)SAMPLE"
         R"SAMPLE(0,"type":"career-coaching-60","additionalNotes":"Follow-up: negotiation practice.","description":"Focused 1:1 career coaching session.","customInputs":{},"eventTypeId":5531,"userFieldsResponses":{"coa)SAMPLE"
         R"SAMPLE(ching-goal":{"label":"What do you want to work on?","value":"Mock behavioural interview","isHidden":false}},"responses":{"name":{"label":"your_name","value":"Sam Carter","isHidden":false},"email":{"la)SAMPLE"
         R"SAMPLE(bel":"email_address","value":"sam.carter@client.example","isHidden":false},"attendeePhoneNumber":{"label":"phone_number","isHidden":true},"location":{"label":"location","value":{"value":"integrations:)SAMPLE"
         R"SAMPLE(zoom","optionValue":""},"isHidden":false},"title":{"label":"what_is_this_meeting_about","isHidden":true},"notes":{"label":"additional_notes","value":"Follow-up: negotiation practice.","isHidden":false)SAMPLE"
         R"SAMPLE(},"guests":{"label":"additional_guests","value":[],"isHidden":false},"rescheduleReason":{"label":"reason_for_reschedule","isHidden":false},"coaching-goal":{"label":"What do you want to work on?","valu)SAMPLE"
         R"SAMPLE(e":"Mock behavioural interview","isHidden":false}},"startTime":"2026-03-17T15:00:00+00:00","endTime":"2026-03-17T16:00:00+00:00","organizer":{"id":1042,"username":"maria-lopez-clz8kq2vd0001mh08abcd123)SAMPLE"
         R"SAMPLE(4-coachmarket","email":"maria.lopez+clz8kq2vd0001mh08abcd1234@coachmarket.example","name":"Maria Lopez","timeZone":"Europe/Madrid","timeFormat":"HH:mm","language":{"locale":"en"},"utcOffset":60},"atte)SAMPLE"
         R"SAMPLE(ndees":[{"name":"Sam Carter","email":"sam.carter@client.example","timeZone":"America/New_York","phoneNumber":null,"language":{"locale":"en"},"utcOffset":-240}],"uid":"Vn4cX8bQ2wE6rT1yU9iO3p","bookingI)SAMPLE"
         R"SAMPLE(d":88412,"location":"integrations:zoom","destinationCalendar":[],"cancellationReason":"Coach is unwell","seatsPerTimeSlot":null,"seatsShowAttendees":false,"iCalUID":"Rb7nM2kQ9xV4cL8wT1pZ6d@Cal.com","i)SAMPLE"
         R"SAMPLE(CalSequence":1,"platformClientId":"clz8kq2vd0001mh08abcd1234","platformRescheduleUrl":"https://coachmarket.example/sessions/reschedule","platformCancelUrl":"https://coachmarket.example/sessions/cancel)SAMPLE"
         R"SAMPLE(","hideOrganizerEmail":false,"platformBookingUrl":"https://coachmarket.example/sessions/confirmed","customReplyToEmail":null,"schedulingType":null,"hideBranding":false,"eventTitle":"Career coaching (6)SAMPLE"
         R"SAMPLE(0 min)","eventDescription":"Focused 1:1 career coaching session.","requiresConfirmation":null,"price":null,"currency":"usd","status":"CANCELLED","cancelledBy":"maria.lopez+clz8kq2vd0001mh08abcd1234@co)SAMPLE"
         R"SAMPLE(achmarket.example","requestReschedule":false}})SAMPLE",
       "43040421cfeb3841d8ba2db6c6cb888ff6b9597457534d1eaee0f5b99a92119c", 2646},
      {"MEETING_ENDED",
         R"SAMPLE({"triggerEvent":"MEETING_ENDED","id":88377,"uid":"Tq8wR2nV5mC1xZ7kL3pJ9s","idempotencyKey":"3b9f6c1e-5d2a-5f47-9a0c-2e8d4b7f1a63","userId":1042,"userPrimaryEmail":"maria.lopez+clz8kq2vd0001mh08abcd123)SAMPLE"
         R"SAMPLE(4@coachmarket.example","eventTypeId":5531,"title":"Career coaching (60 min) between Maria Lopez and Sam Carter","description":"Preparing for a senior PM interview loop.","customInputs":{},"responses":)SAMPLE"
         R"SAMPLE({"name":{"label":"your_name","value":"Sam Carter","isHidden":false},"email":{"label":"email_address","value":"sam.carter@client.example","isHidden":false},"attendeePhoneNumber":{"label":"phone_number")SAMPLE"
         R"SAMPLE(,"isHidden":true},"location":{"label":"location","value":{"value":"integrations:zoom","optionValue":""},"isHidden":false},"title":{"label":"what_is_this_meeting_about","isHidden":true},"notes":{"label)SAMPLE"
         R"SAMPLE(":"additional_notes","value":"Preparing for a senior PM interview loop.","isHidden":false},"guests":{"label":"additional_guests","value":[],"isHidden":false},"rescheduleReason":{"label":"reason_for_re)SAMPLE"
         R"SAMPLE(schedule","value":"Client has a conflicting interview","isHidden":false},"coaching-goal":{"label":"What do you want to work on?","value":"Mock behavioural interview","isHidden":false}},"startTime":"20)SAMPLE"
         R"SAMPLE(26-03-12T15:00:00.000Z","endTime":"2026-03-12T16:00:00.000Z","location":"integrations:zoom","createdAt":"2026-03-09T18:02:43.877Z","updatedAt":"2026-03-09T18:02:43.877Z","status":"ACCEPTED","paid":fal)SAMPLE"
         R"SAMPLE(se,"destinationCalendarId":null,"cancellationReason":null,"rejectionReason":null,"reassignReason":null,"reassignById":null,"dynamicEventSlugRef":null,"dynamicGroupSlugRef":null,"rescheduled":null,"fro)SAMPLE"
         R"SAMPLE(mReschedule":"hJ3mZ9qW2xKc7VnT5bRp1L","recurringEventId":null,"smsReminderNumber":null,"scheduledJobs":[],"metadata":{"agentSessionId":"as_7f3e2c","platformClientId":"clz8kq2vd0001mh08abcd1234"},"isRe)SAMPLE"
         R"SAMPLE(corded":false,"iCalUID":"Xk4pT8sWq2LmN6vR9cBd3F@Cal.com","iCalSequence":1,"rating":null,"ratingFeedback":null,"noShowHost":false,"oneTimePassword":null,"cancelledBy":null,"rescheduledBy":"sam.carter@c)SAMPLE"
         R"SAMPLE(lient.example","creationSource":"API_V2","user":{"uuid":"6f1d2c3b-8e4a-4b7c-9d0e-1a2b3c4d5e6f","email":"maria.lopez+clz8kq2vd0001mh08abcd1234@coachmarket.example","name":"Maria Lopez","timeZone":"Euro)SAMPLE"
         R"SAMPLE(pe/Madrid","username":"maria-lopez-clz8kq2vd0001mh08abcd1234-coachmarket","isPlatformManaged":true},"attendees":[{"id":240117,"email":"sam.carter@client.example","name":"Sam Carter","timeZone":"Americ)SAMPLE"
         R"SAMPLE(a/New_York","phoneNumber":null,"locale":"en","bookingId":88377,"noShow":false}],"payment":[],"references":[],"appsStatus":[{"appName":"Zoom Video","type":"zoom_video","success":1,"failures":0,"errors")SAMPLE"
         R"SAMPLE(:[]}]})SAMPLE",
       "4cd38af2b6ac37e9ef1bde9784bc2e7d5970869915408b7da1650e67dca0d175", 2606},
      {"BOOKING_NO_SHOW_UPDATED",
         R"SAMPLE({"triggerEvent":"BOOKING_NO_SHOW_UPDATED","createdAt":"2026-03-12T15:21:05.004Z","payload":{"message":"sam.carter@client.example marked as no-show","attendees":[{"email":"sam.carter@client.example","n)SAMPLE"
         R"SAMPLE(oShow":true}],"bookingUid":"Tq8wR2nV5mC1xZ7kL3pJ9s","bookingId":88377,"platformClientId":"clz8kq2vd0001mh08abcd1234","platformCancelUrl":"https://coachmarket.example/sessions/cancel","platformReschedu)SAMPLE"
         R"SAMPLE(leUrl":"https://coachmarket.example/sessions/reschedule","platformBookingUrl":"https://coachmarket.example/sessions/confirmed","arePlatformEmailsEnabled":false,"areCalendarEventsEnabled":true}})SAMPLE",
       "8ab73ed517b7a0f55cdedf178b028e0c1627af6380b3ae85fb4579e875498577", 593},
      {"PING",
         R"SAMPLE({"triggerEvent":"PING","createdAt":"2026-03-01T12:00:00.123Z","payload":{"type":"Test","title":"Test trigger event","startTime":"2026-03-01T12:00:00.120Z","endTime":"2026-03-01T12:00:00.120Z","attende)SAMPLE"
         R"SAMPLE(es":[{"email":"jdoe@example.com","name":"John Doe","timeZone":"Europe/London","language":{"locale":"en"},"utcOffset":0}],"organizer":{"name":"Cal","email":"no-reply@cal.com","timeZone":"Europe/London")SAMPLE"
         R"SAMPLE(,"language":{"locale":"en"},"utcOffset":0}}})SAMPLE",
       "82a5b152fae676b362d22b3134a9b440ceb75fa21fca47190200b84245aae9da", 444},
  };
  return v;
}

inline const WebhookSample& webhook_sample(const std::string& name) {
  for (const auto& s : webhook_samples())
    if (s.name == name) return s;
  throw std::out_of_range("no webhook sample " + name);
}

}  // namespace coach::testing
