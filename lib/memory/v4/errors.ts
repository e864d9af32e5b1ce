/**
 * ByteRover v4 memory's error codes: topics (<bv-topic> files, record/overwrite) and spaces (the
 * space marker and its lifecycle).
 */
export const TopicErrorCode = {
  TOPIC_INVALID: 'BV_TOPIC_INVALID',
  TOPIC_LOCKED: 'BV_TOPIC_LOCKED',
  TOPIC_CONFLICT: 'BV_TOPIC_CONFLICT',
  PATH_ESCAPE: 'BV_PATH_ESCAPE',
  RECORD_INPUT: 'BV_RECORD_INPUT',
  TOPIC_EXISTS: 'BV_TOPIC_EXISTS',
  OVERWRITE_DROPS_ELEMENTS: 'BV_OVERWRITE_DROPS_ELEMENTS',
  RECORD_NO_SPACE: 'BV_RECORD_NO_SPACE',
} as const;
export type TopicErrorCode = (typeof TopicErrorCode)[keyof typeof TopicErrorCode];

export const SpaceErrorCode = {
  MARKER_INVALID: 'BRV_SPACE_MARKER_INVALID',
  MARKER_UNREADABLE: 'BRV_SPACE_MARKER_UNREADABLE',
  HARD_DELETED: 'BRV_SPACE_HARD_DELETED',
  DELETED: 'BRV_SPACE_DELETED',
  NOT_FOUND: 'BRV_SPACE_NOT_FOUND',
  NO_DEFAULT: 'BRV_SPACE_NO_DEFAULT',
} as const;
export type SpaceErrorCode = (typeof SpaceErrorCode)[keyof typeof SpaceErrorCode];
