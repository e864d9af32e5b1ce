/**
 * Error codes the skill endpoint throws itself (errors.ts maps every failure to its HTTP answer).
 */
export const SkillErrorCode = {
  ACTION_UNAVAILABLE: 'SKILL_ACTION_UNAVAILABLE',
  NOT_JSON: 'SKILL_NOT_JSON',
} as const;
export type SkillErrorCode = (typeof SkillErrorCode)[keyof typeof SkillErrorCode];
