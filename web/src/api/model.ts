/**
 * The data the screens show, in the gateway's JSON shape (the contracts'
 * snake_case field names, lowercase enum names, null when unset; see the
 * gateway's protojson module). Where the generated schema has the type, the
 * alias points at it, so a renamed field fails the type check here.
 */

export type PrincipalKind = "employee" | "partner";

export interface Me {
  readonly person_id: string;
  readonly org_id: string;
  readonly kind: PrincipalKind;
  readonly home_admin: boolean;
}

export type Visibility = "open" | "private" | "secret";
export type Role = "member" | "moderator" | "owner";
export type PostType = "discussion" | "announcement" | "question" | "idea" | "wiki_page";
export type IdeaStatus = "new" | "under_review" | "accepted" | "declined" | "implemented";
export type ReactionKind = "like" | "celebrate" | "thanks" | "insightful" | "curious";
export type PinholeState = "proposed" | "open" | "closed";
export type GrantLevel = "viewer" | "contributor";
export type SubscriptionLevel = "watching" | "tracking" | "normal" | "muted";
export type DigestFrequency = "off" | "hourly" | "daily" | "weekly";

export interface Page<T> {
  readonly items: readonly T[];
  readonly next_page_token: string;
}

export interface Community {
  readonly community_id: string;
  readonly main_space_id: string;
  readonly name: string;
  readonly description: string;
  readonly visibility: Visibility | null;
  readonly tags: readonly string[];
  readonly member_count: number;
  readonly created_at: string | null;
}

export interface CommunityView {
  readonly community: Community;
  /** The caller's role, null when not a member. */
  readonly my_role: Role | null;
  /** Whether the caller has a pending join request. */
  readonly requested: boolean;
}

export interface Member {
  readonly person_id: string;
  readonly role: Role | null;
  readonly card: PersonCard | null;
}

export interface JoinRequest {
  readonly community_id: string;
  readonly person_id: string;
  readonly message: string;
  readonly requested_at: string | null;
  readonly card: PersonCard | null;
}

export interface PinholeGrant {
  readonly org_id: string;
  readonly org_display_name: string;
  readonly level: GrantLevel | null;
  readonly granted_at: string | null;
}

export interface Pinhole {
  readonly pinhole_id: string;
  readonly community_id: string;
  readonly title: string;
  readonly purpose: string;
  readonly state: PinholeState | null;
  readonly expires_at: string | null;
  readonly grants: readonly PinholeGrant[];
  readonly version: number;
}

export interface Space {
  readonly space_id: string;
  readonly kind: "community" | "pinhole" | null;
  readonly community_id: string;
  readonly title: string;
  /** Partner orgs that can read this space: non-empty means "shared outside the company". */
  readonly shared_with: readonly string[];
  /** Whether the caller may post here (false for a partner viewer); undefined when unknown. */
  readonly can_post?: boolean;
}

export interface ReactionCount {
  readonly kind: ReactionKind | null;
  readonly count: number;
}

export interface ViewerState {
  readonly voted: boolean;
  readonly reactions: readonly ReactionKind[];
  readonly can_edit: boolean;
  readonly can_moderate: boolean;
}

export interface Post {
  readonly post_id: string;
  readonly space_id: string;
  readonly type: PostType | null;
  readonly title: string;
  readonly body: string;
  readonly tags: readonly string[];
  readonly author_id: string;
  readonly state: "published" | "deleted" | null;
  readonly pinned: boolean;
  readonly idea_status: IdeaStatus | null;
  readonly accepted_answer_id: string;
  readonly revision: number;
  readonly comment_count: number;
  readonly created_at: string | null;
  readonly updated_at: string | null;
  readonly vote_count: number;
  readonly answer_count: number;
  readonly reactions: readonly ReactionCount[];
}

/** A post with what the screens need around it. */
export interface PostView {
  readonly post: Post;
  readonly author: PersonCard | null;
  readonly space: Space | null;
  readonly viewer: ViewerState | null;
  /** The ETag to send back as If-Match when editing. */
  readonly etag: string;
}

export interface Answer {
  readonly answer_id: string;
  readonly question_id: string;
  readonly author_id: string;
  readonly body: string;
  readonly score: number;
  readonly accepted: boolean;
  readonly created_at: string | null;
  readonly my_vote: "up" | "down" | "none" | null;
  readonly author: PersonCard | null;
}

export interface Comment {
  readonly comment_id: string;
  readonly post_id: string;
  readonly author_id: string;
  readonly body: string;
  readonly created_at: string | null;
  readonly author: PersonCard | null;
}

export interface Revision {
  readonly item_id: string;
  readonly revision: number;
  readonly title: string;
  readonly body: string;
  readonly author_id: string;
  readonly summary: string;
  readonly restored_from_revision: number;
  readonly created_at: string | null;
  readonly author: PersonCard | null;
}

export interface DiffLine {
  readonly op: "equal" | "insert" | "delete" | null;
  readonly text: string;
}

export interface PersonCard {
  readonly person_id: string;
  readonly display_name: string;
  readonly title: string;
  readonly org_id: string;
  readonly org_display_name: string;
  readonly kind: "employee" | "partner_user" | null;
}

export interface EarnedExpertise {
  readonly tag: string;
  readonly accepted_answers: number;
}

export interface Person {
  readonly person_id: string;
  readonly display_name: string;
  readonly title: string;
  readonly department: string;
  readonly location: string;
  readonly manager_id: string;
  readonly bio: string;
  readonly declared_expertise: readonly string[];
  readonly earned_expertise: readonly EarnedExpertise[];
  readonly card: PersonCard | null;
}

export interface Expert {
  readonly card: PersonCard | null;
  readonly signals: readonly { readonly tag: string; readonly accepted_answers: number; readonly declared: boolean }[];
  readonly earned_score: number;
}

export interface Notification {
  readonly notification_id: string;
  readonly kind: string | null;
  readonly title: string;
  readonly excerpt: string;
  readonly space_id: string;
  readonly post_id: string;
  readonly community_id: string;
  readonly actor_display_name: string;
  readonly created_at: string | null;
  readonly read_at: string | null;
}

/** Why a question was routed to the person (the notification service's routing). */
export type RoutingReason = "expertise" | "community_staff";

/** A question the notification service routed to the caller as an expert, still waiting for an answer. */
export interface RoutedQuestion {
  readonly question_id: string;
  readonly space_id: string;
  readonly title: string;
  readonly tags: readonly string[];
  readonly routed_at: string | null;
  /** 0 for the first experts asked, then 1, 2, ... as the question is escalated. */
  readonly step: number;
  readonly reason: RoutingReason | null;
  readonly space: Space | null;
}

export interface AuditRecord {
  readonly record_id: string;
  readonly at: string | null;
  readonly person_id: string;
  readonly org_id: string;
  readonly route: string;
  readonly outcome: string;
}

export interface DemoPerson {
  readonly subject: string;
  readonly display_name: string;
  readonly roles: readonly ("employee" | "owner" | "admin" | "partner")[];
}
