/**
 * Error codes the skill endpoint throws itself (errors.ts maps every failure to its HTTP answer).
 */
export const SkillErrorCode = {
  ACTION_UNAVAILABLE: 'SKILL_ACTION_UNAVAILABLE',
  NOT_JSON: 'SKILL_NOT_JSON',
  /** The action ran past bridge.skill.actionTimeoutMs (503). */
  ACTION_TIMEOUT: 'SKILL_ACTION_TIMEOUT',
} as const;
export type SkillErrorCode = (typeof SkillErrorCode)[keyof typeof SkillErrorCode];
